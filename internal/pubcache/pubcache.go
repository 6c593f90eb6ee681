// Package pubcache keeps what pages derive from published runs, so that a
// city official's dashboard is computed once per publication instead of
// once per view.
//
// A published run never changes, but what a page shows of it can: the trend
// of a region reads every published run, and a new publication adds one.
// Each entry therefore carries the publication stamp it was computed under
// (evaluation.Store.PublishedStamp, read from the database on every request) and
// is stale as soon as the stamp moves. Reading the stamp from the database,
// not from process memory, keeps several servers behind one load balancer
// consistent without telling each other.
package pubcache

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache is a bounded, concurrency-safe map from page keys to values computed
// under a publication stamp.
type Cache struct {
	lru *lru.Cache[string, entry]
}

type entry struct {
	stamp string
	value any
}

// New returns a cache of at most size entries, least recently used first
// out; size below 1 means 1.
func New(size int) *Cache {
	l, err := lru.New[string, entry](max(size, 1))
	if err != nil { // only for size <= 0, excluded above
		panic(err)
	}
	return &Cache{lru: l}
}

// Get returns the value stored under key if it was computed under stamp.
func (c *Cache) Get(key, stamp string) (any, bool) {
	e, ok := c.lru.Get(key)
	if !ok || e.stamp != stamp {
		return nil, false
	}
	return e.value, true
}

// Put stores value under key as computed under stamp, replacing any older
// value.
func (c *Cache) Put(key, stamp string, value any) {
	c.lru.Add(key, entry{stamp: stamp, value: value})
}

// Len is the number of entries held, stale ones included.
func (c *Cache) Len() int { return c.lru.Len() }
