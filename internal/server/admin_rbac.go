package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Admin endpoint routes for role bindings and the audit log:
//
//	GET  /admin/rbac                                        -> {"bindings": [...]}
//	POST /admin/rbac/grant?principal=P&namespace=N&role=R   -> stored, in force at once
//	POST /admin/rbac/revoke?principal=P&namespace=N&role=R  -> removed, in force at once
//	GET  /admin/audit?from=T&to=T&subject=S&namespace=N&after=ID&limit=N -> {"entries": [...]}
//
// Times are RFC 3339. Grants, revokes and DLQ commands are themselves
// audited (API "admin.rbac.grant" etc., subject "admin-endpoint").

// adminSubject is the subject of audit entries for admin endpoint
// commands: the endpoint knows its caller only as the holder of its token.
const adminSubject = "admin-endpoint"

// AdminBinding is one role binding as the admin endpoint lists it.
type AdminBinding struct {
	Principal string    `json:"principal"`
	Namespace string    `json:"namespace"`
	Role      string    `json:"role"`
	Source    string    `json:"source"` // "database" or "config"
	CreatedAt time.Time `json:"created_at,omitzero"`
}

func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/rbac", s.adminListBindings)
	mux.HandleFunc("POST /admin/rbac/grant", s.adminBindingAction(true))
	mux.HandleFunc("POST /admin/rbac/revoke", s.adminBindingAction(false))
	mux.HandleFunc("GET /admin/audit", s.adminListAudit)
	mux.HandleFunc("GET /admin/cluster", s.adminDescribeCluster)
}

func (s *Server) rbacStore(w http.ResponseWriter) (persistence.RBACStore, bool) {
	st, ok := s.rawStore.(persistence.RBACStore)
	if !ok || s.bindings == nil {
		http.Error(w, "role bindings need global.authorization (authorizer: default)", http.StatusConflict)
		return nil, false
	}
	return st, true
}

func (s *Server) adminListBindings(w http.ResponseWriter, r *http.Request) {
	st, ok := s.rbacStore(w)
	if !ok {
		return
	}
	rows, err := st.ListRoleBindings(r.Context())
	if err != nil {
		adminError(w, err)
		return
	}
	out := struct {
		Bindings []AdminBinding `json:"bindings"`
	}{Bindings: []AdminBinding{}}
	for _, b := range s.bindings.Static() {
		out.Bindings = append(out.Bindings, AdminBinding{Principal: b.Principal, Namespace: b.Namespace,
			Role: b.Role.String(), Source: "config"})
	}
	for _, b := range rows {
		out.Bindings = append(out.Bindings, AdminBinding{Principal: b.Principal, Namespace: b.Namespace,
			Role: b.Role, Source: "database", CreatedAt: b.CreatedAt})
	}
	writeJSON(w, out)
}

// adminBindingAction grants or revokes a stored binding, reloads the
// bindings in force, and audits the command.
func (s *Server) adminBindingAction(grant bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, ok := s.rbacStore(w)
		if !ok {
			return
		}
		q := r.URL.Query()
		b, err := auth.ParseBinding(q.Get("principal"), q.Get("namespace"), q.Get("role"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		api := "admin.rbac.revoke"
		if grant {
			api = "admin.rbac.grant"
			err = st.PutRoleBinding(r.Context(), persistence.RoleBinding{Principal: b.Principal, Namespace: b.Namespace,
				Role: b.Role.String(), CreatedAt: s.cfg.Clock.Now()})
		} else {
			err = st.DeleteRoleBinding(r.Context(), b.Principal, b.Namespace, b.Role.String())
		}
		s.auditAdmin(r, api, b.Namespace, b.Principal+" "+b.Role.String(), err)
		if err != nil {
			if errors.Is(err, persistence.ErrNotFound) {
				http.Error(w, "no such role binding", http.StatusNotFound)
				return
			}
			adminError(w, err)
			return
		}
		if err := s.bindings.Reload(r.Context()); err != nil {
			adminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// auditAdmin records an admin endpoint command when auditing is on.
func (s *Server) auditAdmin(r *http.Request, api, namespace, target string, err error) {
	if s.audit == nil {
		return
	}
	code := "OK"
	switch {
	case errors.Is(err, persistence.ErrNotFound):
		code = "NotFound"
	case err != nil:
		code = "Unavailable"
	}
	s.audit.Record(r.Context(), persistence.AuditEntry{Subject: adminSubject, Source: r.RemoteAddr, API: api,
		Namespace: namespace, Target: target, Code: code})
}

func (s *Server) adminListAudit(w http.ResponseWriter, r *http.Request) {
	st, ok := s.rawStore.(persistence.AuditStore)
	if !ok || s.audit == nil {
		http.Error(w, "the audit log is off (audit.enabled)", http.StatusConflict)
		return
	}
	q := r.URL.Query()
	f := persistence.AuditFilter{Subject: q.Get("subject"), Namespace: q.Get("namespace"), Limit: 100}
	var errs []error
	parseTime := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		errs = append(errs, err)
		return t
	}
	f.From, f.To = parseTime("from"), parseTime("to")
	if v := q.Get("after"); v != "" {
		var err error
		f.AfterID, err = strconv.ParseInt(v, 10, 64)
		errs = append(errs, err)
	}
	if v := q.Get("limit"); v != "" {
		var err error
		f.Limit, err = strconv.Atoi(v)
		errs = append(errs, err)
		if err == nil && (f.Limit < 1 || f.Limit > 10000) {
			errs = append(errs, errors.New("limit: want 1-10000"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	entries, err := st.ListAudit(r.Context(), f)
	if err != nil {
		adminError(w, err)
		return
	}
	out := struct {
		Entries []persistence.AuditEntry `json:"entries"`
	}{Entries: append([]persistence.AuditEntry{}, entries...)}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
