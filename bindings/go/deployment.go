package redkeep

/*
#include "redkeep.h"
*/
import "C"

import (
	"runtime"
	"strings"
	"sync"
)

// Deployment is a throwaway local Redis Cluster (StartCluster) or Sentinel
// group (StartSentinel) for tests. The core starts every process on free
// loopback ports, returns once the deployment is ready, and kills them all
// when this process dies, even by SIGKILL (Linux), so none outlives its
// owner. Close stops them; a cleanup does so for a forgotten one only as a
// leak guard. Safe for concurrent use.
type Deployment struct {
	mu         sync.Mutex
	ptr        *C.redkeep_deployment
	url        string
	urls       []string
	masterName string
	cleanup    runtime.Cleanup
}

// StartCluster starts a Redis Cluster of masters masters with
// replicasPerMaster replicas each, and returns once every node agrees on
// the cluster, every slot is served and every replica is linked (about
// 2–3 s for 3 + 3 nodes). redisServer is the binary, or "" for
// $REDKEEP_REDIS_SERVER, then redis-server on PATH.
func StartCluster(masters, replicasPerMaster int, redisServer string) (*Deployment, error) {
	bin := cString(redisServer)
	defer freeCString(bin)
	var ptr *C.redkeep_deployment
	var cerr *C.redkeep_error
	status := C.redkeep_cluster_start(C.uint32_t(masters), C.uint32_t(replicasPerMaster), bin, &ptr, &cerr)
	return newDeployment(ptr, takeError(status, cerr))
}

// StartSentinel starts a master with replicas replicas and sentinels
// sentinels watching it (as MasterName), and returns once the replicas are
// linked and every sentinel knows the master, the replicas and the other
// sentinels. redisServer as for StartCluster.
func StartSentinel(replicas, sentinels int, redisServer string) (*Deployment, error) {
	bin := cString(redisServer)
	defer freeCString(bin)
	var ptr *C.redkeep_deployment
	var cerr *C.redkeep_error
	status := C.redkeep_sentinel_start(C.uint32_t(replicas), C.uint32_t(sentinels), bin, &ptr, &cerr)
	return newDeployment(ptr, takeError(status, cerr))
}

func newDeployment(ptr *C.redkeep_deployment, err error) (*Deployment, error) {
	if err != nil {
		return nil, err
	}
	d := &Deployment{
		ptr:  ptr,
		url:  C.GoString(C.redkeep_deployment_url(ptr)),
		urls: strings.Split(C.GoString(C.redkeep_deployment_urls(ptr)), ","),
	}
	if name := C.redkeep_deployment_master_name(ptr); name != nil {
		d.masterName = C.GoString(name)
	}
	d.cleanup = runtime.AddCleanup(d, func(ptr *C.redkeep_deployment) { C.redkeep_deployment_free(ptr) }, ptr)
	return d, nil
}

// URL is what a pool is given: a cluster's first node (redis://...), or a
// Sentinel group's redis+sentinel://HOST:PORT,.../MASTER.
func (d *Deployment) URL() string { return d.url }

// URLs are every cluster node's redis:// URL, or every sentinel's.
func (d *Deployment) URLs() []string { return append([]string(nil), d.urls...) }

// Addrs are URLs as host:port (go-redis's ClusterOptions.Addrs /
// FailoverOptions.SentinelAddrs).
func (d *Deployment) Addrs() []string {
	addrs := make([]string, len(d.urls))
	for i, u := range d.urls {
		addrs[i] = strings.TrimPrefix(u, "redis://")
	}
	return addrs
}

// MasterName is a Sentinel group's master name ("mymaster"); "" for a
// cluster.
func (d *Deployment) MasterName() string { return d.masterName }

// Close stops every process and waits until they are gone. Idempotent.
func (d *Deployment) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ptr == nil {
		return nil
	}
	d.cleanup.Stop()
	C.redkeep_deployment_free(d.ptr)
	d.ptr = nil
	return nil
}
