package local

import (
	"testing"

	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open: func(t *testing.T) storagetest.Log {
			fsys, ok := memByTest.Load(t.Name())
			if !ok {
				fsys, _ = memByTest.LoadOrStore(t.Name(), fsx.NewMem())
			}
			return mustOpen(t, "/data", testOptions(fsys.(*fsx.MemFS)))
		},
	})
}
