package namespace

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/persistence"
)

// ErrInvalidState means MarkDeleted found the namespace already deleted.
var ErrInvalidState = errors.New("namespace has invalid state")

// deletedSuffixLen is how many characters of the namespace ID the deleted
// name carries, as the reference server names deleted namespaces.
const deletedSuffixLen = 5

// DeletedName is the name a namespace is renamed to when it is deleted:
// "<name>-deleted-<first 5 characters of its ID>". The rename frees the
// name for a new namespace at once while the old one's data is removed.
func DeletedName(name, id string) string {
	return name + "-deleted-" + id[:min(len(id), deletedSuffixLen)]
}

// Deleted reports whether ns is marked deleted (its data being removed).
func (ns *Namespace) Deleted() bool {
	return ns.Describe.GetNamespaceInfo().GetState() == enumspb.NAMESPACE_STATE_DELETED
}

// MarkDeleted marks the namespace called name deleted and renames it to
// DeletedName in one conditional write, and returns it as stored. From
// then on the old name is unknown (and free) and the namespace is found
// by its new name or ID only, in state DELETED; removing its executions
// and finally the record itself is the caller's background work (see
// Remove). Errors: ErrNotFound, ErrInvalidState when already deleted,
// ErrAlreadyExists when the deleted name is taken, store errors as they
// come.
func (r *Registry) MarkDeleted(ctx context.Context, name string) (*Namespace, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	for range maxUpdateAttempts {
		rec, err := r.store.GetNamespaceByName(ctx, name)
		if errors.Is(err, persistence.ErrNotFound) {
			return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		if err != nil {
			return nil, err
		}
		cur, err := decode(rec)
		if err != nil {
			return nil, err
		}
		if cur.Deleted() {
			return nil, fmt.Errorf("%w: %q is already deleted", ErrInvalidState, name)
		}
		desc := proto.Clone(cur.Describe).(*workflowservice.DescribeNamespaceResponse)
		newName := DeletedName(name, rec.ID)
		desc.NamespaceInfo.State = enumspb.NAMESPACE_STATE_DELETED
		desc.NamespaceInfo.Name = newName
		data, err := proto.Marshal(desc)
		if err != nil {
			return nil, fmt.Errorf("namespace: encoding %q: %w", name, err)
		}
		err = r.store.UpdateNamespace(ctx, persistence.NamespaceRecord{ID: rec.ID, Name: newName, Data: data}, rec.Data)
		switch {
		case err == nil:
			next := &Namespace{ID: rec.ID, Name: newName, Retention: cur.Retention, Describe: desc}
			r.replace(next)
			return next, nil
		case errors.Is(err, persistence.ErrConditionFailed):
			continue
		case errors.Is(err, persistence.ErrNotFound):
			return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
		case errors.Is(err, persistence.ErrAlreadyExists):
			return nil, fmt.Errorf("%w: %q", ErrAlreadyExists, newName)
		default:
			r.forget(rec.ID)
			return nil, err
		}
	}
	return nil, fmt.Errorf("namespace: deleting %q: gave up after %d concurrent updates: %w",
		name, maxUpdateAttempts, persistence.ErrConditionFailed)
}

// Remove deletes the record of a namespace marked deleted, once its data
// is gone. Removing a missing namespace is not an error; a namespace not
// marked deleted is refused with ErrInvalidState.
func (r *Registry) Remove(ctx context.Context, id string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	rec, err := r.store.GetNamespaceByID(ctx, id)
	if errors.Is(err, persistence.ErrNotFound) {
		r.forget(id)
		return nil
	}
	if err != nil {
		return err
	}
	ns, err := decode(rec)
	if err != nil {
		return err
	}
	if !ns.Deleted() {
		return fmt.Errorf("%w: %q is not deleted", ErrInvalidState, ns.Name)
	}
	if err := r.store.DeleteNamespace(ctx, id); err != nil {
		return err
	}
	r.forget(id)
	return nil
}
