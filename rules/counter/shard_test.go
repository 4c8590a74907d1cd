package counter

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// checkShard verifies what the index links must keep true: the LRU list
// and the pin heap together hold exactly the indexed entries, each link
// agrees with its neighbour's, the heap is ordered, every index the slab
// handed out is held, spare or free (and blank when unused), and the
// byte count is the sum of the entries'.
func checkShard(t *testing.T, s *shard) {
	t.Helper()
	state := make(map[int32]string)
	n, prev := 0, int32(-1)
	for i := s.head; i >= 0; i = s.at(i).next {
		e := s.at(i)
		if e.prev != prev || e.heapIdx != -1 {
			t.Fatalf("LRU entry %d: prev %d (want %d), heapIdx %d", i, e.prev, prev, e.heapIdx)
		}
		if state[i] != "" || n > s.live {
			t.Fatalf("LRU entry %d listed twice", i)
		}
		state[i] = "lru"
		prev = i
		n++
	}
	if s.tail != prev {
		t.Fatalf("tail %d, last LRU entry %d", s.tail, prev)
	}
	for j, p := range s.pinned.items {
		e := s.at(p.id)
		if int(e.heapIdx) != j || e.prev != -1 || e.next != -1 || state[p.id] != "" {
			t.Fatalf("pinned entry %d at %d: heapIdx %d, links %d %d, also %q", p.id, j, e.heapIdx, e.prev, e.next, state[p.id])
		}
		if j > 0 && s.pinned.items[(j-1)/2].recheck > p.recheck {
			t.Fatalf("pin heap out of order at %d", j)
		}
		state[p.id] = "pinned"
	}
	if len(state) != s.live {
		t.Fatalf("%d entries listed or pinned, %d held", len(state), s.live)
	}
	var bytes int64
	indexed := make(map[int32]bool)
	keys := make(map[Key]bool)
	for h, head := range s.m {
		for i := head; i >= 0; i = s.at(i).chain {
			e := s.at(i)
			if e.hash != h || e.kind == 0 || state[i] == "" || indexed[i] || keys[e.key] {
				t.Fatalf("entry %d under hash %x: hash %x, kind %d, %q, seen %v/%v", i, h, e.hash, e.kind, state[i], indexed[i], keys[e.key])
			}
			indexed[i], keys[e.key] = true, true
			bytes += int64(e.bytes())
		}
	}
	if len(indexed) != s.live {
		t.Fatalf("%d entries indexed, %d held", len(indexed), s.live)
	}
	if bytes != s.bytes {
		t.Fatalf("shard counts %d bytes, its entries %d", s.bytes, bytes)
	}
	unused := func(i int32, how string) {
		e := s.at(i)
		if state[i] != "" || e.key != (Key{}) || e.kind != 0 || !e.empty() || e.heapIdx != -1 || e.prev != -1 || e.chain != -1 {
			t.Fatalf("%s entry %d: %q, %+v", how, i, state[i], e)
		}
		state[i] = how
	}
	for _, i := range s.slab.spare {
		unused(i, "spare")
	}
	for i := s.slab.free; i >= 0; i = s.at(i).next {
		unused(i, "free")
	}
	if len(state) != int(s.slab.n) {
		t.Fatalf("%d indices accounted for, %d handed out", len(state), s.slab.n)
	}
}

// TestShardLinksStayConsistent runs random operations of every kind on a
// small sharded store that keeps filling, evicting, pinning and releasing,
// and checks every shard's links after each one, with the keys' hashes
// whole and with them cut to two bits.
func TestShardLinksStayConsistent(t *testing.T) {
	t.Run("hashes", func(t *testing.T) { shardLinks(t, ^uint64(0)) })
	// Four hashes for every key: most share their slot with others, so
	// the index's chains grow, shrink and are cut in the middle.
	t.Run("collisions", func(t *testing.T) { shardLinks(t, 3) })
}

func shardLinks(t *testing.T, hashMask uint64) {
	c := newFakeClock()
	m, err := NewMemory(MemoryConfig{MaxKeys: 60, Shards: 2, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	m.hashMask = hashMask
	rng := rand.New(rand.NewPCG(1, 2))
	subject := func() string { return "s" + strconv.Itoa(rng.IntN(150)) }
	tokens := make(map[Key][]int64)
	for op := 0; op < 20_000; op++ {
		switch rng.IntN(7) {
		case 0, 1:
			m.Take(bg, Key{Rule: "rate", Subject: subject()}, 1+rng.IntN(6), time.Duration(1+rng.IntN(60))*time.Second)
		case 2:
			m.TakeDistinct(bg, Key{Rule: "distinct", Subject: subject()}, strconv.Itoa(rng.IntN(5)), 1+rng.IntN(4), time.Minute)
		case 3:
			k := Key{Rule: "lockout", Subject: subject()}
			if r, _ := m.Reserve(bg, k, lk); r.Token != 0 {
				tokens[k] = append(tokens[k], r.Token)
			}
		case 4:
			k := Key{Rule: "lockout", Subject: subject()}
			var tok int64
			if ts := tokens[k]; len(ts) > 0 {
				tok, tokens[k] = ts[0], ts[1:]
			}
			m.Settle(bg, k, lk, tok, Settlement(rng.IntN(3)))
		case 5:
			if rng.IntN(20) == 0 {
				m.Clear(bg, Filter{Subject: subject(), LimitedOnly: rng.IntN(2) == 0})
			}
		case 6:
			c.Advance(time.Duration(rng.IntN(3000)) * time.Millisecond)
		}
		for i := range m.shards {
			checkShard(t, m.shards[i].shard)
		}
	}
	st := m.Stats()
	if st.Evictions == 0 || st.Pinned == 0 {
		t.Fatalf("the run never evicted or pinned: %+v", st)
	}
}
