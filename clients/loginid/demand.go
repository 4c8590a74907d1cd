package loginid

// demandSlots bounds the demand table: the kids remembered as refused by
// the empty fetch bucket.
const demandSlots = 256

// demandTable counts, per kid, the lookups the empty fetch bucket refused
// (PEM mode only: there one key host request answers one kid), so the
// bucket's next token can go to the kid asked for most rather than to
// whichever lookup comes first. It is the space-saving algorithm over
// demandSlots counters:
//
//   - a kid in the table has a count never below the refused lookups that
//     asked for it since it was first refused (exact while the table has
//     room);
//   - when the table is full, a new kid replaces one with the smallest
//     count and starts just above it (floor+1, floor being the count of
//     the last kid replaced), so a kid pushed out and asked for again
//     loses nothing; a kid refused only once therefore counts at most
//     floor+1, and the floor rises by one for about every demandSlots-1
//     other refused lookups.
//
// A kid whose fetch starts is removed. The table is guarded by the key
// store's fmu; it allocates only when a kid is stored in a map slot that
// was never used.
type demandTable struct {
	idx   map[string]int // kid → index in slots
	slots []demandSlot
	floor uint64
}

type demandSlot struct {
	kid string
	n   uint64
}

func newDemandTable() *demandTable {
	return &demandTable{
		idx:   make(map[string]int, demandSlots),
		slots: make([]demandSlot, 0, demandSlots),
	}
}

// refused records one refused lookup for kid.
func (d *demandTable) refused(kid string) {
	if i, ok := d.idx[kid]; ok {
		d.slots[i].n++
		return
	}
	if len(d.slots) < demandSlots {
		d.idx[kid] = len(d.slots)
		d.slots = append(d.slots, demandSlot{kid: kid, n: d.floor + 1})
		return
	}
	m := 0
	for i := 1; i < len(d.slots); i++ {
		if d.slots[i].n < d.slots[m].n {
			m = i
		}
	}
	d.floor = d.slots[m].n
	delete(d.idx, d.slots[m].kid)
	d.idx[kid] = m
	d.slots[m] = demandSlot{kid: kid, n: d.floor + 1}
}

// rank is the count kid would have once this lookup is recorded.
func (d *demandTable) rank(kid string) uint64 {
	if i, ok := d.idx[kid]; ok {
		return d.slots[i].n + 1
	}
	return d.floor + 1
}

// top returns the kid with the highest count ("" when the table is
// empty); among equal counts, the one in the lowest slot.
func (d *demandTable) top() (string, uint64) {
	kid, n := "", uint64(0)
	for _, s := range d.slots {
		if s.n > n {
			kid, n = s.kid, s.n
		}
	}
	return kid, n
}

// remove forgets kid (its fetch is starting).
func (d *demandTable) remove(kid string) {
	i, ok := d.idx[kid]
	if !ok {
		return
	}
	delete(d.idx, kid)
	last := len(d.slots) - 1
	if i != last {
		d.slots[i] = d.slots[last]
		d.idx[d.slots[i].kid] = i
	}
	d.slots[last] = demandSlot{}
	d.slots = d.slots[:last]
}
