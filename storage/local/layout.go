package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/fsx"
)

// Data directory layout (documented in docs/format.md):
//
//	LOCK                 advisory lock held by the one writer
//	stele.json           log identity: format version and origin (written once)
//	key                  the log's private note key, mode 0600 (unless --key-file)
//	key.pub              the log's verifier key (note verifier-key text)
//	segments/NNN.seg     entries and checkpoints; NNN = 20-digit first seq
//	segments/NNN.idx     sidecar of a sealed segment (offsets of tile starts)
//	tile/L/N             full hash tiles in the C2SP tlog-tiles layout
//	tiles.synced         size up to which every full tile is durable
//	index/ids/           the id index (derived; deleting it loses nothing)
const (
	lockFile     = "LOCK"
	metaFile     = "stele.json"
	keyFile      = "key"
	pubKeyFile   = "key.pub"
	segmentsDir  = "segments"
	tilesDir     = "tile"
	watermarkF   = "tiles.synced"
	idIndexDir   = "index/ids"
	formatNumber = 1
)

type meta struct {
	Format  int    `json:"format"`
	Origin  string `json:"origin"`
	Created string `json:"created"`
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }
func sidecarName(first uint64) string { return fmt.Sprintf("%020d.idx", first) }

// parseSegmentName returns the first seq encoded in a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, ".seg")
	if !ok || len(base) != 20 {
		return 0, false
	}
	first, err := strconv.ParseUint(base, 10, 64)
	return first, err == nil
}

// loadIdentity reads stele.json or creates it, reconciling the origin the
// operator asked for with the one the directory was created with.
func loadIdentity(fsys fsx.FS, dir, wantOrigin string) (string, error) {
	path := filepath.Join(dir, metaFile)
	raw, err := fsx.ReadFile(fsys, path)
	switch {
	case err == nil:
		var m meta
		if err := json.Unmarshal(raw, &m); err != nil {
			return "", &stele.CorruptionError{File: metaFile, Offset: -1, Seq: -1, Reason: fmt.Sprintf("cannot parse: %v", err)}
		}
		if m.Format != formatNumber {
			return "", fmt.Errorf("local: %s: unsupported format %d (this stele reads format %d)", path, m.Format, formatNumber)
		}
		if wantOrigin != "" && wantOrigin != m.Origin {
			return "", fmt.Errorf("local: data directory %s belongs to log %q, not %q: an origin is a log's identity and cannot change; use another --data directory or drop --origin", dir, m.Origin, wantOrigin)
		}
		return m.Origin, nil
	case errors.Is(err, fs.ErrNotExist):
		if wantOrigin == "" {
			return "", errors.New("local: no origin for a new log")
		}
		m := meta{Format: formatNumber, Origin: wantOrigin, Created: time.Now().UTC().Format(time.RFC3339)}
		raw, _ := json.MarshalIndent(m, "", "  ")
		if err := fsx.WriteFileAtomic(fsys, path, append(raw, '\n'), 0o644); err != nil {
			return "", fmt.Errorf("local: write %s: %w", path, err)
		}
		return m.Origin, nil
	default:
		return "", fmt.Errorf("local: read %s: %w", path, err)
	}
}

// loadKey returns the log's signer: from keyPath when set, else from the data
// directory, generating a key pair there on first start.
func loadKey(fsys fsx.FS, dir, keyPath, origin string) (*checkpoint.Signer, error) {
	if keyPath == "" {
		keyPath = filepath.Join(dir, keyFile)
		_, err := fsys.Stat(keyPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("local: stat %s: %w", keyPath, err)
		}
		if errors.Is(err, fs.ErrNotExist) {
			skey, vkey, err := checkpoint.GenerateKey(origin)
			if err != nil {
				return nil, err
			}
			if err := fsx.WriteFileAtomic(fsys, keyPath, []byte(skey+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("local: write %s: %w", keyPath, err)
			}
			if err := fsx.WriteFileAtomic(fsys, filepath.Join(dir, pubKeyFile), []byte(vkey+"\n"), 0o644); err != nil {
				return nil, fmt.Errorf("local: write %s: %w", pubKeyFile, err)
			}
		}
	}
	if fi, err := fsys.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("local: private key %s is accessible by other users (mode %v); chmod 600 it", keyPath, fi.Mode().Perm())
	}
	raw, err := fsx.ReadFile(fsys, keyPath)
	if err != nil {
		return nil, fmt.Errorf("local: read private key: %w", err)
	}
	signer, err := checkpoint.NewSigner(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("local: private key %s: %w", keyPath, err)
	}
	if signer.Name() != origin {
		return nil, fmt.Errorf("local: private key %s is named %q but the log's origin is %q; checkpoints must be signed by a key named after the origin", keyPath, signer.Name(), origin)
	}
	return signer, nil
}

func mkdirs(fsys fsx.FS, dir string) error {
	for _, d := range []string{dir, filepath.Join(dir, segmentsDir), filepath.Join(dir, tilesDir)} {
		if err := fsys.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("local: create %s: %w", d, err)
		}
	}
	if err := fsys.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
		return fmt.Errorf("local: sync %s: %w", dir, err)
	}
	return fsys.SyncDir(dir)
}

var _ = os.ModePerm
