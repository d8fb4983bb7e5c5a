package checkpoint_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/stele-log/stele/checkpoint"
)

func Example() {
	// Keys come from checkpoint.GenerateKey(origin); this pair is only for
	// the example.
	const skey = "PRIVATE+KEY+example.com/stele+667bcc98+ATSmwnF0W4JrnPhmde3ni0LgpW8bU127nIzevejqbg4U"
	const vkey = "example.com/stele+667bcc98+AQp4F/cv1oVLMcZ1+5HYuWTNIeZCD/WEpdh7nlGD8sJu"

	signer, err := checkpoint.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	signed, err := signer.Sign(checkpoint.Checkpoint{
		Origin: signer.Name(),
		Size:   3,
		Hash:   sha256.Sum256([]byte("not a real root")),
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s", signed)

	// A client holding only the verifier key.
	v, err := checkpoint.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	c, err := checkpoint.Open(signed, "example.com/stele", v)
	fmt.Println(c.Size, err)
	// Output:
	// example.com/stele
	// 3
	// Cwrq+Vhkv2cxFgzCYCi/5bVYmrb0QFOO91My4GwHIC4=
	//
	// — example.com/stele ZnvMmCxdaB2ejJXS6Jodlh7Cs1ODuZ1hygbTPcsl68loppgqJ78ilcO2RHKEIy+NdlRit3FcaX9rwXheR8mQcoRqZgk=
	// 3 <nil>
}
