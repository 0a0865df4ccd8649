package config

import (
	"strings"
	"testing"
	"time"
)

func lookupFrom(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestExpandEnv(t *testing.T) {
	env := lookupFrom(map[string]string{"A": "x", "EMPTY": ""})
	for in, want := range map[string]string{
		"${A}":            "x",
		"${A:d}":          "x",
		"${MISSING}":      "",
		"${MISSING:d}":    "d",
		"${MISSING:}":     "",
		"${EMPTY:d}":      "d",
		"${A}:${B:5432}":  "x:5432",
		"$A ${ not a ref": "$A ${ not a ref",
		"${MISSING:a:b}":  "a:b",
	} {
		if got := string(ExpandEnv([]byte(in), env)); got != want {
			t.Errorf("ExpandEnv(%q) = %q, want %q", in, got, want)
		}
	}
}

const sample = `
persistence:
  numHistoryShards: ${SHARDS:8}
  defaultStore: pg
  visibilityStore: pg
  datastores:
    pg:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "${HOST}:5432"
        user: temporal
        password: ${PW}
        maxConns: 7
        maxConnLifetime: 30m
        connectAttributes:
          sslmode: require
        tls:
          enabled: true
          caFile: /ca.pem
global:
  metrics:
    prometheus:
      listenAddress: "127.0.0.1:9090"
  authorization:
    jwtKeyProvider:
      keySourceURIs: [http://localhost/keys]
      refreshInterval: 1m
services:
  frontend:
    rpc:
      grpcPort: 7233
      membershipPort: 6933
      bindOnIP: 0.0.0.0
      httpPort: 7243
dynamicConfigClient:
  filepath: dc.yaml
  pollInterval: 10s
archival:
  history:
    state: disabled
`

func TestParseTemporalShape(t *testing.T) {
	st, err := Parse("sample.yaml", []byte(sample), lookupFrom(map[string]string{"HOST": "db.local", "PW": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	p := st.Persistence
	sql := p.DataStores["pg"].SQL
	if p.NumHistoryShards != 8 || p.DefaultStore != "pg" || sql == nil || sql.ConnectAddr != "db.local:5432" ||
		sql.Password != "s3cret" || sql.MaxConns != 7 || time.Duration(sql.MaxConnLifetime) != 30*time.Minute ||
		sql.ConnectAttributes["sslmode"] != "require" || sql.TLS == nil || !sql.TLS.Enabled {
		t.Errorf("persistence = %+v, sql = %+v", p, sql)
	}
	if st.Services["frontend"].RPC.BindOnIP != "0.0.0.0" || st.Global.Metrics.Prometheus.ListenAddress != "127.0.0.1:9090" ||
		time.Duration(st.Global.Authorization.JWTKeyProvider.RefreshInterval) != time.Minute ||
		st.DynamicConfigClient.Filepath != "dc.yaml" {
		t.Errorf("config = %+v", st)
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	for text, want := range map[string][]string{
		"persistence:\n  numHistoryShard: 4\n":                                     {"numHistoryShard", "line 2", "persistence", "my.yaml"},
		"persistence:\n  datastores:\n    a:\n      sql:\n        pluginname: x\n": {"pluginname", "line 5", "sql", "my.yaml"},
		"servcies: {}\n": {"servcies", "line 1", "top level"},
		"services:\n  frontend:\n    rpc:\n      grpcport: 1\n": {"grpcport", "services.<role>.rpc"},
	} {
		_, err := Parse("my.yaml", []byte(text), lookupFrom(nil))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", text)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) error %q does not mention %q", text, err, w)
			}
		}
	}
	if _, err := Parse("bad.yaml", []byte("persistence: [\n"), lookupFrom(nil)); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("syntax error: %v, want one naming the file", err)
	}
	if st, err := Parse("empty.yaml", nil, lookupFrom(nil)); err != nil || st == nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	st, err := FromEnv(lookupFrom(map[string]string{
		"DB": "postgres12", "POSTGRES_SEEDS": "pg1,pg2", "DB_PORT": "6543", "POSTGRES_USER": "u", "POSTGRES_PWD": "p",
		"DBNAME": "t1", "VISIBILITY_DBNAME": "v1", "NUM_HISTORY_SHARDS": "16", "SKIP_SCHEMA_SETUP": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	sql := st.Persistence.DataStores[st.Persistence.DefaultStore].SQL
	vis := st.Persistence.DataStores[st.Persistence.VisibilityStore].SQL
	if sql.PluginName != PluginPostgres || sql.ConnectAddr != "pg1:6543" || sql.User != "u" || sql.Password != "p" ||
		sql.DatabaseName != "t1" || vis.DatabaseName != "v1" || st.Persistence.NumHistoryShards != 16 ||
		!st.Persistence.SkipSchemaMigration {
		t.Errorf("postgres from env: %+v %+v %+v", st.Persistence, sql, vis)
	}

	st, err = FromEnv(lookupFrom(map[string]string{"DB": "mysql", "SQL_HOST": "my", "SQL_USER": "su", "MYSQL_USER": "mu"}))
	if err != nil {
		t.Fatal(err)
	}
	sql = st.Persistence.DataStores["default"].SQL
	if sql.PluginName != PluginMySQL || sql.ConnectAddr != "my:3306" || sql.User != "su" || sql.DatabaseName != "temporal" ||
		st.Persistence.NumHistoryShards != 4 || st.Services["frontend"].RPC.GRPCPort != 7233 {
		t.Errorf("mysql from env: %+v %+v", st.Persistence, sql)
	}

	for _, bad := range []map[string]string{
		{},
		{"DB": "cassandra"},
		{"DB": "postgres12"},
		{"DB": "mysql8", "MYSQL_SEEDS": "h", "NUM_HISTORY_SHARDS": "zero"},
	} {
		if _, err := FromEnv(lookupFrom(bad)); err == nil {
			t.Errorf("FromEnv(%v) succeeded", bad)
		}
	}
}
