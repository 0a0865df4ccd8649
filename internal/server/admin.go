package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/persistence"
)

// The admin endpoint: a small HTTP/JSON API for operator commands that
// have no place in Temporal's OperatorService (`sundial admin dlq`). It is
// off unless Config.AdminAddress is set, and meant for a loopback address;
// every request needs its token (admin_token.go).
//
//	GET  /admin/dlq?after=SHARD/CATEGORY/TASK&limit=N  -> {"tasks": [...]}
//	POST /admin/dlq/retry?task=SHARD/CATEGORY/TASK     -> put back in the outbox, run now
//	POST /admin/dlq/purge?task=SHARD/CATEGORY/TASK     -> drop for good

// AdminDLQTask is one dead-lettered task as the admin endpoint lists it.
type AdminDLQTask struct {
	Key            string    `json:"key"` // SHARD/CATEGORY/TASK
	Category       string    `json:"category"`
	VisibilityTime time.Time `json:"visibility_time,omitzero"`
	Attempts       int32     `json:"attempts"`
	LastError      string    `json:"last_error"`
	MovedAt        time.Time `json:"moved_at"`
	Data           string    `json:"data"` // the task as stored (JSON)
}

// FormatDLQKey renders a DLQ key as SHARD/CATEGORY/TASK.
func FormatDLQKey(k persistence.DLQKey) string {
	return fmt.Sprintf("%d/%d/%d", k.ShardID, k.Category, k.TaskID)
}

// ParseDLQKey reads SHARD/CATEGORY/TASK.
func ParseDLQKey(s string) (persistence.DLQKey, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return persistence.DLQKey{}, fmt.Errorf("DLQ key %q: want SHARD/CATEGORY/TASK", s)
	}
	shard, err1 := strconv.ParseInt(parts[0], 10, 32)
	cat, err2 := strconv.ParseInt(parts[1], 10, 32)
	task, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return persistence.DLQKey{}, fmt.Errorf("DLQ key %q: want SHARD/CATEGORY/TASK: %w", s, err)
	}
	return persistence.DLQKey{ShardID: int32(shard), Category: persistence.TaskCategory(cat), TaskID: task}, nil
}

func (s *Server) startAdmin() error {
	if s.cfg.AdminAddress == "" {
		return nil
	}
	mux := http.NewServeMux()
	if s.history != nil {
		mux.HandleFunc("GET /admin/dlq", s.adminListDLQ)
		mux.HandleFunc("POST /admin/dlq/retry", s.adminDLQAction("admin.dlq.retry", s.history.RetryDLQTask))
		mux.HandleFunc("POST /admin/dlq/purge", s.adminDLQAction("admin.dlq.purge", s.history.PurgeDLQTask))
	} else {
		// The outbox DLQ belongs to the history role.
		noHistory := func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "this process does not run the history role: use the admin endpoint of a history process",
				http.StatusServiceUnavailable)
		}
		mux.HandleFunc("GET /admin/dlq", noHistory)
		mux.HandleFunc("POST /admin/dlq/retry", noHistory)
		mux.HandleFunc("POST /admin/dlq/purge", noHistory)
	}
	s.adminRoutes(mux)
	tok, err := newAdminToken(s.cfg.AdminTokenFile)
	if err != nil {
		return err
	}
	lis, err := s.listenHTTP("admin", s.cfg.AdminAddress, requireAdminToken(tok, mux))
	if err != nil {
		return err
	}
	s.adminLis, s.adminToken = lis, tok
	return nil
}

// AdminAddr is the host:port of the admin endpoint ("" when off).
func (s *Server) AdminAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adminLis == nil {
		return ""
	}
	return s.adminLis.Addr().String()
}

func (s *Server) adminListDLQ(w http.ResponseWriter, r *http.Request) {
	var after persistence.DLQKey
	if a := r.URL.Query().Get("after"); a != "" {
		var err error
		if after, err = ParseDLQKey(a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	limit := 100
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			http.Error(w, "limit: "+err.Error(), http.StatusBadRequest)
			return
		}
		limit = n
	}
	tasks, err := s.history.ListDLQ(r.Context(), after, limit)
	if err != nil {
		adminError(w, err)
		return
	}
	out := struct {
		Tasks []AdminDLQTask `json:"tasks"`
	}{Tasks: []AdminDLQTask{}}
	for _, t := range tasks {
		cat := "transfer"
		if t.Category == persistence.CategoryTimer {
			cat = "timer"
		}
		out.Tasks = append(out.Tasks, AdminDLQTask{Key: FormatDLQKey(t.DLQKey), Category: cat, VisibilityTime: t.VisibilityTime,
			Attempts: t.Attempts, LastError: t.LastError, MovedAt: t.MovedAt, Data: string(t.Data)})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) adminDLQAction(api string, do func(ctx context.Context, key persistence.DLQKey) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, err := ParseDLQKey(r.URL.Query().Get("task"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		err = do(r.Context(), key)
		s.auditAdmin(r, api, "", "dlq:"+FormatDLQKey(key), err)
		if err != nil {
			adminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func adminError(w http.ResponseWriter, err error) {
	var invalid *history.InvalidArgumentError
	switch {
	case errors.As(err, &invalid):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, persistence.ErrNotFound):
		http.Error(w, "no such task in the DLQ", http.StatusNotFound)
	default:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	}
}
