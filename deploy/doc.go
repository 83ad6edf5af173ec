// Package deploy holds no code: it is where Inlay is deployed from — Procfile (make run),
// compose.yaml, Dockerfile, k8s/ (kustomize: base, overlays dev and prod) and nginx/ (an SSI
// example). Its test checks that every process of the Procfile appears, on the same port, in
// compose.yaml and in every Kubernetes overlay (built with the kustomize API) with probes, resources,
// a PodDisruptionBudget, a drain (INLAY_DRAIN) and Pod Security "restricted" settings, and with every
// variable its configuration marks `prod:"required"` (read from the process's source) set; and that
// each runs a binary the repository builds.
package deploy
