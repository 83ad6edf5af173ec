// Command keygen prints a fresh Ed25519 key pair for the shell as environment assignments:
// INLAY_SHELL_PRIVATE_KEY (base64 seed, for the shell) and INLAY_SHELL_PUBLIC_KEY (base64, for every
// fragment server). `make run` writes them to .inlay/dev.env once, so the shell and the teams agree on
// the key across restarts.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
)

func main() {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keygen: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("INLAY_SHELL_PRIVATE_KEY=%s\nINLAY_SHELL_PUBLIC_KEY=%s\n",
		base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub))
}
