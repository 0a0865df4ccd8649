package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func dockerTemplate(t *testing.T) []byte {
	t.Helper()
	text, err := os.ReadFile("testdata/docker_template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// The defaults of a Temporal-style docker template render to a config
// Sundial runs: SQLite, port 7233, the ${VAR:default} form still works.
func TestParseDockerTemplateDefaults(t *testing.T) {
	st, err := Parse("docker.yaml", dockerTemplate(t), lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	sql := st.Persistence.DataStores["default"].SQL
	fe := st.Services["frontend"].RPC
	if st.Log.Level != "info" || st.Persistence.NumHistoryShards != 4 || sql == nil || sql.PluginName != PluginSQLite ||
		sql.DatabaseName != "sundial.db" || fe.GRPCPort != 7233 || fe.BindOnIP != "127.0.0.1" ||
		st.PublicClient.HostPort != "127.0.0.1:7233" || st.DynamicConfigClient.Filepath != "dc.yaml" ||
		st.Persistence.AdvancedVisibilityStore != "" || st.Global.Metrics != nil {
		t.Errorf("rendered defaults: %+v / %+v / %+v", st.Persistence, sql, fe)
	}
	if st.ClusterMetadata.ClusterInformation["active"].RPCAddress != "127.0.0.1:7233" {
		t.Errorf("print: %+v", st.ClusterMetadata)
	}
}

// Variables pick the branch and the values: Temporal's "postgresql" and
// pluginName "postgres" become postgres12; unset vs set-but-empty follow
// dockerize's default (only unset takes the default).
func TestParseDockerTemplateFromEnv(t *testing.T) {
	env := lookupFrom(map[string]string{
		"DB": "PostgreSQL", "POSTGRES_SEEDS": "pg.local", "POSTGRES_USER": "u", "POSTGRES_PWD": "p w#1", "DB_PORT": "6543",
		"NUM_HISTORY_SHARDS": "16", "SQL_MAX_CONN_TIME": "30m", "VISIBILITY_POSTGRES_SEEDS": "vis.local",
		"FRONTEND_GRPC_PORT": "7300", "BIND_ON_IP": "0.0.0.0", "PROMETHEUS_ENDPOINT": "0.0.0.0:9090",
		"LOG_LEVEL": "warn", "DYNAMIC_CONFIG_FILE_PATH": "/etc/dc.yaml", "TEMPORAL_BROADCAST_ADDRESS": "",
	})
	st, err := Parse("docker.yaml", dockerTemplate(t), env)
	if err != nil {
		t.Fatal(err)
	}
	sql := st.Persistence.DataStores["default"].SQL
	vis := st.Persistence.DataStores["visibility"].SQL
	if sql.PluginName != PluginPostgres || sql.ConnectAddr != "pg.local:6543" || sql.User != "u" || sql.Password != "p w#1" ||
		time.Duration(sql.MaxConnLifetime) != 30*time.Minute || sql.MaxConns != 20 || vis.ConnectAddr != "vis.local:6543" ||
		vis.User != "u" || vis.DatabaseName != "temporal_visibility" || st.Persistence.NumHistoryShards != 16 {
		t.Errorf("datastores: %+v / %+v", sql, vis)
	}
	fe := st.Services["frontend"].RPC
	if fe.GRPCPort != 7300 || fe.BindOnIP != "0.0.0.0" || st.Global.Metrics.Prometheus.ListenAddress != "0.0.0.0:9090" ||
		st.Log.Level != "warn" || st.DynamicConfigClient.Filepath != "/etc/dc.yaml" || st.PublicClient.HostPort != "0.0.0.0:7300" ||
		st.Global.Membership.BroadcastAddress != "" {
		t.Errorf("services/global: %+v %+v %+v", fe, st.Global, st.Log)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for text, want := range map[string][]string{
		"# enable-template\nlog:\n  level: {{ .Env.LOG_LEVEL }}\n":               {"t.yaml", "line 3", "unset variable", "default .Env"},
		"log:\n  level: {{ sprigOnly .Env.X }}\n":                                {"t.yaml", "sprigOnly", "not defined"},
		"log:\n  level: {{ default .Env.X \"a\" \n":                              {"t.yaml", "2"},
		"{{ $x := default .Env.A \"1\" }}\npersistence:\n  numHistoryShard: 4\n": {"numHistoryShard", "persistence"},
		"log:\n  level: {{ default .Env.X 5 }}\n":                                {"not a string"},
	} {
		_, err := Parse("t.yaml", []byte(text), lookupFrom(nil))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", text)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) = %q, want it to mention %q", text, err, w)
			}
		}
	}
}

// A value is never read as template text, whichever syntax brought it in.
func TestTemplateValuesAreNotTemplates(t *testing.T) {
	text := "# enable-template\nlog:\n  level: \"${A}\"\n  format: \"{{ .Env.B }}\"\n"
	st, err := Parse("t.yaml", []byte(text), lookupFrom(map[string]string{"A": "{{ .Env.B }}", "B": "${A}"}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Log.Level != "{{ .Env.B }}" || st.Log.Format != "${A}" {
		t.Errorf("log = %+v", st.Log)
	}
}

func TestIsTemplateAndReferences(t *testing.T) {
	if IsTemplate([]byte("log:\n  level: info # no marker\n")) {
		t.Error("plain YAML taken for a template")
	}
	if !IsTemplate([]byte("# enable-template\nlog: {}\n")) || !IsTemplate([]byte("a: {{ .Env.X }}\n")) {
		t.Error("template not recognised")
	}
	refs := References([]byte(`a: ${A:1} {{ .Env.B }} {{ index .Env "C" }} {{ env "D" }} {{ $e := 1 }}`))
	if len(refs) != 4 || !refs["A"] || !refs["B"] || !refs["C"] || !refs["D"] {
		t.Errorf("References = %v", refs)
	}
}
