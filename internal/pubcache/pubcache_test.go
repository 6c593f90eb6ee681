package pubcache

import (
	"fmt"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	c := New(2)
	c.Put("a", "s1", 1)
	t.Run("hit under the same stamp", func(t *testing.T) {
		if v, ok := c.Get("a", "s1"); !ok || v != 1 {
			t.Fatalf("Get = %v, %v; want 1, true", v, ok)
		}
	})
	t.Run("stale under another stamp", func(t *testing.T) {
		if _, ok := c.Get("a", "s2"); ok {
			t.Fatal("a value computed under s1 was served under s2")
		}
	})
	t.Run("replaced by a newer value", func(t *testing.T) {
		c.Put("a", "s2", 2)
		if v, ok := c.Get("a", "s2"); !ok || v != 2 {
			t.Fatalf("Get = %v, %v; want 2, true", v, ok)
		}
	})
	t.Run("bounded, least recently used out", func(t *testing.T) {
		c.Put("b", "s2", 3)
		c.Get("a", "s2")
		c.Put("c", "s2", 4)
		if _, ok := c.Get("b", "s2"); ok {
			t.Fatal("b, the least recently used, is still held")
		}
		if c.Len() != 2 {
			t.Fatalf("Len = %d, want 2", c.Len())
		}
	})
}

func TestCacheConcurrent(t *testing.T) {
	c := New(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := fmt.Sprint(i % 100)
				c.Put(k, "s", g)
				c.Get(k, "s")
			}
		}()
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Fatalf("Len = %d over the bound 64", c.Len())
	}
}
