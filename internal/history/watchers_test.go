package history

import (
	"testing"

	"github.com/sundialhq/sundial/internal/persistence"
)

func fired(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A write that leaves the run open wakes change watchers only; one that
// may have closed it wakes close watchers too; shutdown wakes everyone.
func TestWatchersWakeCloseWaitersOnlyOnClose(t *testing.T) {
	var w watchers
	k := persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: "wf", RunID: "r"}
	other := persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: "wf2", RunID: "r"}
	change, closing, otherClose := w.wait(k), w.waitClose(k), w.waitClose(other)
	w.notifyOpen(k)
	if !fired(change) || fired(closing) {
		t.Fatalf("notifyOpen: change fired %v, close fired %v; want true, false", fired(change), fired(closing))
	}
	change = w.wait(k)
	w.notify(k)
	if !fired(change) || !fired(closing) || fired(otherClose) {
		t.Fatalf("notify: change %v, close %v, other run %v; want true, true, false", fired(change), fired(closing), fired(otherClose))
	}
	w.closeAll()
	if !fired(otherClose) || !fired(w.waitClose(k)) || !fired(w.wait(k)) {
		t.Fatal("closeAll left a watcher waiting")
	}
}
