package history

import (
	"bytes"
	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
)

func tailEvents(from, to int64, size int) []persistence.HistoryEvent {
	var evs []persistence.HistoryEvent
	for id := from; id < to; id++ {
		evs = append(evs, persistence.HistoryEvent{EventID: id, Data: bytes.Repeat([]byte{byte(id)}, size)})
	}
	return evs
}

func TestEventTail(t *testing.T) {
	var tail eventTail
	if _, ok := tail.get(1, 2); ok {
		t.Fatal("empty tail served a read")
	}
	tail.append(tailEvents(1, 3, 10)) // a start: events 1-2
	tail.append(tailEvents(3, 4, 10)) // workflow task started
	got, ok := tail.get(1, 4)
	if !ok || len(got) != 3 || got[0].EventID != 1 || got[2].EventID != 3 {
		t.Fatalf("get(1, 4) = %v, %v", got, ok)
	}
	if got, ok := tail.get(3, 4); !ok || len(got) != 1 || got[0].EventID != 3 || got[0].Data[0] != 3 {
		t.Fatalf("get(3, 4) = %v, %v", got, ok)
	}
	for _, r := range [][2]int64{{0, 2}, {2, 5}, {4, 5}, {3, 3}} {
		if _, ok := tail.get(r[0], r[1]); ok {
			t.Errorf("get(%d, %d) served events the tail does not hold in full", r[0], r[1])
		}
	}
	// The caller's slice is its own.
	got[0].EventID = 99
	if again, _ := tail.get(1, 2); again[0].EventID != 1 {
		t.Fatal("get returned the tail's own slice")
	}

	// A gap (events written while the run was not cached) restarts it.
	tail.append(tailEvents(10, 12, 10))
	if _, ok := tail.get(3, 4); ok {
		t.Error("events before a gap still served")
	}
	if _, ok := tail.get(10, 12); !ok {
		t.Error("events after a gap not served")
	}

	// Bounded by count: the oldest go first.
	tail.append(tailEvents(12, 12+tailMaxEvents, 10))
	if _, ok := tail.get(10, 12); ok {
		t.Error("events beyond tailMaxEvents kept")
	}
	if _, ok := tail.get(12, 12+tailMaxEvents); !ok {
		t.Error("the newest tailMaxEvents events not served")
	}
	// Bounded by bytes; an event larger than the bound is not kept.
	big := tailMaxBytes / 4
	next := int64(12 + tailMaxEvents)
	tail.append(tailEvents(next, next+5, big))
	if _, ok := tail.get(next, next+5); ok {
		t.Error("more than tailMaxBytes kept")
	}
	if _, ok := tail.get(next+2, next+5); !ok {
		t.Error("the newest events within tailMaxBytes not served")
	}
	if tail.bytes > tailMaxBytes {
		t.Errorf("tail holds %d bytes, bound %d", tail.bytes, tailMaxBytes)
	}
	tail.append(tailEvents(next+5, next+6, tailMaxBytes+1))
	if _, ok := tail.get(next+5, next+6); ok || tail.bytes != 0 {
		t.Errorf("an event over tailMaxBytes kept (%d bytes held)", tail.bytes)
	}
	tail.clear()
	if _, ok := tail.get(next+5, next+6); ok {
		t.Error("cleared tail served a read")
	}
}
