// Command keygen prints a fresh Ed25519 key pair for each signer of Inlay-Context as environment
// assignments: INLAY_SHELL_PRIVATE_KEY (base64 seed, for the shell) and INLAY_SHELL_PUBLIC_KEY (base64,
// for every fragment server), and likewise INLAY_MOBILE_PRIVATE_KEY (bff/mobile) and
// INLAY_MOBILE_PUBLIC_KEY, INLAY_EMBED_PRIVATE_KEY (bff/embed) and INLAY_EMBED_PUBLIC_KEY. `make run` writes them to .inlay/dev.env once, so the signers and the teams
// agree on the keys across restarts.
//
// With -tokens it also prints a fresh random value for each bearer token a deployment must set in
// prod (DECIDE_ADMIN_TOKEN, INVENTORY_ADMIN_TOKEN, INLAY_PURGE_TOKEN): the secrets.env of a
// Kubernetes overlay (deploy/k8s/overlays/*) or compose's deploy/.env.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
)

// tokens are the bearer tokens -tokens prints.
var tokens = []string{"DECIDE_ADMIN_TOKEN", "INVENTORY_ADMIN_TOKEN", "INLAY_PURGE_TOKEN"}

// signers are the processes that sign Inlay-Context, each with its own key pair.
var signers = []string{"SHELL", "MOBILE", "EMBED"}

func main() {
	withTokens := flag.Bool("tokens", false, "also print a random value for each bearer token prod needs")
	flag.Parse()
	if err := run(*withTokens); err != nil {
		fmt.Fprintf(os.Stderr, "keygen: %v\n", err)
		os.Exit(1)
	}
}

func run(withTokens bool) error {
	for _, signer := range signers {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		fmt.Printf("INLAY_%s_PRIVATE_KEY=%s\nINLAY_%s_PUBLIC_KEY=%s\n",
			signer, base64.StdEncoding.EncodeToString(priv.Seed()), signer, base64.StdEncoding.EncodeToString(pub))
	}
	if !withTokens {
		return nil
	}
	for _, name := range tokens {
		fmt.Printf("%s=%s\n", name, rand.Text())
	}
	return nil
}
