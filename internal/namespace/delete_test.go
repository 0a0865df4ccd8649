package namespace

import (
	"context"
	"errors"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

func TestMarkDeletedRenamesAndFreesTheName(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	r := NewRegistry(Options{Store: st})
	other := NewRegistry(Options{Store: st}) // another process
	if err := r.Register(ctx, "orders", 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	orig, err := other.GetByName(ctx, "orders") // cached in the other process
	if err != nil {
		t.Fatal(err)
	}

	ns, err := r.MarkDeleted(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	want := "orders-deleted-" + orig.ID[:5]
	if ns.Name != want || ns.ID != orig.ID || !ns.Deleted() ||
		ns.Describe.GetNamespaceInfo().GetName() != want ||
		ns.Describe.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_DELETED {
		t.Fatalf("deleted namespace = %s/%s %v, want %s/%s DELETED", ns.Name, ns.ID, ns.Describe.GetNamespaceInfo(), want, orig.ID)
	}
	if _, err := r.GetByName(ctx, "orders"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name after delete: %v, want ErrNotFound", err)
	}
	if got, err := r.GetByName(ctx, want); err != nil || got.ID != orig.ID {
		t.Fatalf("new name: %v, %v", got, err)
	}
	if _, err := r.MarkDeleted(ctx, want); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("deleting a deleted namespace: %v, want ErrInvalidState", err)
	}
	// The other process sees the rename after a refresh.
	if err := other.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetByName(ctx, "orders"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name in another process after refresh: %v, want ErrNotFound", err)
	}
	// The name is free for a new namespace.
	if err := r.Register(ctx, "orders", 24*time.Hour); err != nil {
		t.Fatalf("re-registering the name: %v", err)
	}
	fresh, err := r.GetByName(ctx, "orders")
	if err != nil || fresh.ID == orig.ID || fresh.Deleted() {
		t.Fatalf("new namespace under the old name: %+v, %v", fresh, err)
	}
	if err := r.Remove(ctx, fresh.ID); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("removing a live namespace: %v, want ErrInvalidState", err)
	}

	if err := r.Remove(ctx, orig.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(ctx, orig.ID); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := r.GetByID(ctx, orig.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed namespace by ID: %v, want ErrNotFound", err)
	}
	if err := other.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetByID(ctx, orig.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed namespace in another process after refresh: %v, want ErrNotFound", err)
	}
}

func TestMarkDeletedUnknown(t *testing.T) {
	r := NewRegistry(Options{Store: newMemStore()})
	if _, err := r.MarkDeleted(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("MarkDeleted of an unknown namespace: %v, want ErrNotFound", err)
	}
}
