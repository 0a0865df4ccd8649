package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Location is what the command line says about the static config.
type Location struct {
	// File is --config: this file, nothing else.
	File string
	// Dir and Env are --config-dir and --env: Dir/Env.yaml when it exists.
	Dir, Env string
	// Explicit is true when --config, --config-dir or --env was given,
	// false when Dir/Env are only the defaults.
	Explicit bool
}

// Loaded is a static config and where it came from.
type Loaded struct {
	Static *Static
	// From is the file's path, or "environment variables (DB=…, …)".
	From string
	// Warnings are for the start-up log: docker variables a chosen file
	// does not read, and keys Sundial accepts but does not use.
	Warnings []string
}

// secretVars are shown by name only.
var secretVars = []string{"POSTGRES_PWD", "MYSQL_PWD", "SQL_PASSWORD"}

// Load picks the configuration source and loads it. A file given with
// --config, or found as Dir/Env.yaml, is read (and rendered when it is a
// template); without one, the docker-style variables (see FromEnv) are
// used. Both present is ambiguous when the file was found only through
// the default --config-dir/--env (`sundial server` run in a directory
// that happens to have config/development.yaml): docker variables the
// file does not read are refused, naming them and how to choose. A file
// chosen explicitly wins; the variables it does not read are a warning.
// DEFAULT_NAMESPACE counts for neither: both routes honour it.
func Load(loc Location, lookup func(string) (string, bool)) (*Loaded, error) {
	path, explicit := loc.File, loc.File != ""
	if path == "" {
		path = EnvFile(loc.Dir, loc.Env)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if !HasEnv(lookup) {
				return nil, fmt.Errorf("no configuration: pass --config FILE, create %s, or set DB (and POSTGRES_SEEDS/MYSQL_SEEDS, …) as with Temporal's docker image", path)
			}
			st, err := FromEnv(lookup)
			if err != nil {
				return nil, err
			}
			return finish(st, "environment variables ("+strings.Join(dockerVars(lookup, true), ", ")+")", nil)
		}
		explicit = loc.Explicit
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	refs := References(text)
	var unread []string
	for _, name := range dockerVars(lookup, false) {
		if !refs[name] {
			unread = append(unread, name)
		}
	}
	var unreadSec []string
	for _, name := range SecurityEnvVars() {
		if v, ok := lookup(name); ok && v != "" && !refs[name] && !noOpEnv(name, v) {
			unreadSec = append(unreadSec, name)
		}
	}
	if len(unreadSec) > 0 {
		return nil, fmt.Errorf("%s does not read the security settings %s set in the environment: "+
			"refusing to start rather than ignore them; reference them in the file (${NAME}) or unset them",
			path, strings.Join(unreadSec, ", "))
	}
	var warnings []string
	if len(unread) > 0 {
		if !explicit {
			return nil, fmt.Errorf("found both %s and docker-style environment variables it does not read (%s): "+
				"pass --config %s (or --env/--config-dir) to use the file, or unset %s (or run where there is no %s) to configure from the variables",
				path, strings.Join(unread, ", "), path, strings.Join(unread, ", "), path)
		}
		warnings = append(warnings, fmt.Sprintf("%s does not read the environment variables %s; they have no effect", path, strings.Join(unread, ", ")))
	}
	st, err := Parse(path, text, lookup)
	if err != nil {
		return nil, err
	}
	return finish(st, path, warnings)
}

// finish runs Check and adds its unused keys as one warning.
func finish(st *Static, from string, warnings []string) (*Loaded, error) {
	unused, err := st.Check()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	if len(unused) > 0 {
		warnings = append(warnings, "config keys Sundial accepts but does not use: "+strings.Join(unused, ", "))
	}
	return &Loaded{Static: st, From: from, Warnings: warnings}, nil
}

// dockerVars lists the docker-style variables that are set and not
// empty, in EnvVars order; with values, as NAME=VALUE (secrets as NAME=***).
func dockerVars(lookup func(string) (string, bool), values bool) []string {
	var out []string
	for _, name := range EnvVars {
		v, _ := lookup(name)
		if v == "" || name == "DEFAULT_NAMESPACE" {
			continue
		}
		switch {
		case !values:
			out = append(out, name)
		case slices.Contains(secretVars, name):
			out = append(out, name+"=***")
		default:
			out = append(out, name+"="+v)
		}
	}
	return out
}
