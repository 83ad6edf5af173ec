// Package deploy holds no code: it is where Inlay is deployed from — Procfile (make run),
// compose.yaml, Dockerfile, k8s/ (kustomize) and nginx/ (an SSI example). Its test checks that every
// process of the Procfile appears, on the same port, in compose.yaml and in the Kubernetes manifests,
// and that each runs a binary the repository builds.
package deploy
