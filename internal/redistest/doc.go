// Package redistest holds the process-level tests of the shared store:
// two real Caddy processes sharing one real redis-server (single node and
// a local Cluster). Its tests carry the `redis` build tag.
package redistest
