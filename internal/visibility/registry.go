// Package visibility is the domain side of listings: the record history
// writes for each run (Record), and each namespace's search attributes
// (Registry): which exist, with which types, and whether a workflow's
// SearchAttributes are acceptable. Storage is persistence.VisibilityStore;
// the query language is in visibility/query.
package visibility

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// Record is one run as listings show it; see persistence.VisibilityRecord.
type Record = persistence.VisibilityRecord

// Dynamic-config keys of the search attribute limits. The first three
// are Temporal's; the last bounds how many custom attributes a namespace
// may define (Temporal's SQL stores have fixed per-type slots instead).
const (
	KeyNumberOfKeys     = "limit.searchAttributesNumberOfKeys"
	KeySizeOfValue      = "limit.searchAttributesSizeOfValue"
	KeyTotalSize        = "limit.searchAttributesTotalSize"
	KeyMaxCustom        = "limit.numCustomSearchAttributes"
	defaultNumberOfKeys = 100
	defaultSizeOfValue  = 2 << 10
	defaultTotalSize    = 40 << 10
	defaultMaxCustom    = 500
	// MaxNameLength bounds custom attribute names (the schema's column).
	MaxNameLength = 255
)

// InvalidSearchAttributeError is bad search attribute input: undefined or
// reserved names, values of the wrong type, limits exceeded, bad
// definitions. Msg is worded as the reference server words it; the
// frontend returns it as InvalidArgument.
type InvalidSearchAttributeError struct{ Msg string }

func (e *InvalidSearchAttributeError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidSearchAttributeError{Msg: fmt.Sprintf(format, args...)}
}

// RegistryOptions configures a Registry. Store is required.
type RegistryOptions struct {
	Store persistence.VisibilityStore
	// Dynamic supplies the limits; nil means defaults.
	Dynamic *config.Dynamic
	// Clock drives cache expiry; nil means the wall clock.
	Clock clock.Clock
	// CacheTTL is how long a namespace's definitions are used before being
	// read again (default 10s). Changes made through this Registry are
	// seen at once; changes made by another process within CacheTTL.
	CacheTTL time.Duration
}

// Registry knows each namespace's custom search attributes, cached in
// memory, and validates search attributes against them. Safe for
// concurrent use.
type Registry struct {
	store   persistence.VisibilityStore
	dynamic *config.Dynamic
	clock   clock.Clock
	ttl     time.Duration

	mu    sync.Mutex
	cache map[string]cachedDefs
}

type cachedDefs struct {
	defs     map[string]enumspb.IndexedValueType
	loadedAt time.Time
}

// NewRegistry returns a Registry over opts.
func NewRegistry(opts RegistryOptions) *Registry {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 10 * time.Second
	}
	return &Registry{store: opts.Store, dynamic: opts.Dynamic, clock: opts.Clock, ttl: opts.CacheTTL,
		cache: map[string]cachedDefs{}}
}

// Custom returns the namespace's custom attributes (a map the caller owns).
func (r *Registry) Custom(ctx context.Context, namespaceID string) (map[string]enumspb.IndexedValueType, error) {
	defs, err := r.defs(ctx, namespaceID, 0)
	return maps.Clone(defs), err
}

// defs returns the cached definitions, reading them again when older than
// the TTL or than maxAge (if positive).
func (r *Registry) defs(ctx context.Context, namespaceID string, maxAge time.Duration) (map[string]enumspb.IndexedValueType, error) {
	now := r.clock.Now()
	r.mu.Lock()
	c, ok := r.cache[namespaceID]
	r.mu.Unlock()
	age := now.Sub(c.loadedAt)
	if ok && age < r.ttl && (maxAge <= 0 || age < maxAge) {
		return c.defs, nil
	}
	defs, err := r.store.GetSearchAttributes(ctx, namespaceID)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.cache[namespaceID] = cachedDefs{defs: defs, loadedAt: now}
	r.mu.Unlock()
	return defs, nil
}

func (r *Registry) forget(namespaceID string) {
	r.mu.Lock()
	delete(r.cache, namespaceID)
	r.mu.Unlock()
}

// Lookup returns the namespace's name resolver for queries.
func (r *Registry) Lookup(ctx context.Context, namespaceID string) (searchattr.Lookup, error) {
	defs, err := r.defs(ctx, namespaceID, 0)
	if err != nil {
		return nil, err
	}
	return searchattr.NewLookup(defs), nil
}

// Parse parses a list filter of the namespace. Errors: *query.Error for a
// bad query, store errors as they come.
func (r *Registry) Parse(ctx context.Context, namespaceID, text string) (*query.Query, error) {
	lookup, err := r.Lookup(ctx, namespaceID)
	if err != nil {
		return nil, err
	}
	q, err := query.Parse(text, lookup)
	var qe *query.Error
	if errors.As(err, &qe) && qe.Undefined != "" {
		// Maybe defined since we cached: read again, at most once a second.
		if defs, err2 := r.defs(ctx, namespaceID, time.Second); err2 == nil {
			return query.Parse(text, searchattr.NewLookup(defs))
		}
	}
	return q, err
}

// recentEnough is how old cached definitions may be when Validate meets
// an undefined name before it reads them again.
const recentEnough = time.Second

// Validate checks search attributes a client or workflow wants to set:
// at most limit.searchAttributesNumberOfKeys names; no system column
// ("X attribute can't be set in SearchAttributes"); every name defined
// ("search attribute X is not defined"); every value of its type ("invalid
// value for search attribute X of type T: V"; a null value, which unsets
// the attribute, is fine; see searchattr.Decode for the encodings
// accepted); each value at most limit.searchAttributesSizeOfValue bytes
// and all together at most limit.searchAttributesTotalSize. Bad input is
// *InvalidSearchAttributeError; other errors come from the store.
func (r *Registry) Validate(ctx context.Context, namespaceID string, sa *commonpb.SearchAttributes) error {
	_, err := r.Canonical(ctx, namespaceID, sa)
	return err
}

// Canonical validates sa as Validate does and returns it in the form
// Sundial stores (searchattr.Canonical: one encoding per type, with the
// "type" metadata), as a new message; sa is not changed. Values that
// unset an attribute are kept as they are. A nil or empty sa is returned
// as it is.
func (r *Registry) Canonical(ctx context.Context, namespaceID string, sa *commonpb.SearchAttributes) (*commonpb.SearchAttributes, error) {
	fields := sa.GetIndexedFields()
	if len(fields) == 0 {
		return sa, nil
	}
	if limit := r.dynamic.Int(KeyNumberOfKeys, defaultNumberOfKeys); len(fields) > limit {
		return nil, invalid("number of search attributes %d exceeds limit %d", len(fields), limit)
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	valueLimit := r.dynamic.Int(KeySizeOfValue, defaultSizeOfValue)
	out := &commonpb.SearchAttributes{IndexedFields: make(map[string]*commonpb.Payload, len(fields))}
	total := 0
	for _, name := range names {
		a, err := r.attribute(ctx, namespaceID, name)
		if err != nil {
			return nil, err
		}
		p := fields[name]
		c, err := searchattr.Canonical(p, a.Type)
		switch {
		case errors.Is(err, searchattr.ErrUnset):
			c = p
		case err != nil:
			return nil, invalid("invalid value for search attribute %s of type %s: %s", name, searchattr.TypeName(a.Type), p.GetData())
		}
		if n := len(p.GetData()); n > valueLimit {
			return nil, invalid("search attribute %s value size %d exceeds size limit %d", name, n, valueLimit)
		}
		total += len(name) + len(p.GetData())
		out.IndexedFields[name] = c
	}
	if limit := r.dynamic.Int(KeyTotalSize, defaultTotalSize); total > limit {
		return nil, invalid("total size of search attributes %d exceeds size limit %d", total, limit)
	}
	return out, nil
}

// attribute resolves a name a workflow may set: a predefined or a custom
// attribute. System columns and undefined names are
// *InvalidSearchAttributeError.
func (r *Registry) attribute(ctx context.Context, namespaceID, name string) (searchattr.Attribute, error) {
	a, ok := searchattr.System(name)
	if ok && !a.Predefined {
		return a, invalid("%s attribute can't be set in SearchAttributes", name)
	}
	if ok {
		return a, nil
	}
	defs, err := r.defs(ctx, namespaceID, 0)
	if err != nil {
		return a, err
	}
	t, defined := defs[name]
	if !defined {
		// Maybe defined since we cached: read again, at most once a second.
		if defs, err = r.defs(ctx, namespaceID, recentEnough); err != nil {
			return a, err
		}
		if t, defined = defs[name]; !defined {
			return a, invalid("search attribute %s is not defined", name)
		}
	}
	return searchattr.Custom(name, t), nil
}

// Add defines custom search attributes for a namespace. Bad input is
// *InvalidSearchAttributeError ("Search attribute X is reserved by
// system.", an unknown type, a bad name, too many attributes); a name
// already defined with another type is persistence.ErrAlreadyExists
// (wrapped); one defined with the same type is left alone.
func (r *Registry) Add(ctx context.Context, namespaceID string, attrs map[string]enumspb.IndexedValueType) error {
	if len(attrs) == 0 {
		return invalid("SearchAttributes are not set on request.")
	}
	for name, t := range attrs {
		if err := checkName(name); err != nil {
			return err
		}
		if !searchattr.ValidType(t) {
			return invalid("Unknown search attribute type: %v.", t)
		}
	}
	defs, err := r.defs(ctx, namespaceID, recentEnough)
	if err != nil {
		return err
	}
	count := len(defs)
	for name := range attrs {
		if _, ok := defs[name]; !ok {
			count++
		}
	}
	if limit := r.dynamic.Int(KeyMaxCustom, defaultMaxCustom); count > limit {
		return invalid("Unable to create search attributes: a namespace can have at most %d custom search attributes.", limit)
	}
	defer r.forget(namespaceID)
	return r.store.AddSearchAttributes(ctx, namespaceID, attrs)
}

// checkName accepts any name a query can express (in backquotes if need
// be) that is not a system attribute.
func checkName(name string) error {
	if _, ok := searchattr.System(name); ok {
		return invalid("Search attribute %s is reserved by system.", name)
	}
	switch {
	case name == "":
		return invalid("Search attribute name is empty.")
	case len(name) > MaxNameLength:
		return invalid("Search attribute name %q is longer than %d bytes.", name, MaxNameLength)
	case !utf8.ValidString(name) || strings.ContainsRune(name, '`') ||
		strings.IndexFunc(name, unicode.IsControl) >= 0:
		return invalid("Search attribute name %q has characters that are not allowed.", name)
	}
	return nil
}

// Remove removes custom search attributes of a namespace. System names are
// *InvalidSearchAttributeError; a name that is not defined is
// persistence.ErrNotFound (wrapped) and nothing is removed.
func (r *Registry) Remove(ctx context.Context, namespaceID string, names []string) error {
	if len(names) == 0 {
		return invalid("SearchAttributes are not set on request.")
	}
	for _, name := range names {
		if _, ok := searchattr.System(name); ok {
			return invalid("Unable to remove non-custom search attributes: %s.", name)
		}
	}
	defer r.forget(namespaceID)
	return r.store.RemoveSearchAttributes(ctx, namespaceID, names)
}
