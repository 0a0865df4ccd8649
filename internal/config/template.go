package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// templateMarker in a comment within the first KiB makes a file a Go
// template, as in Temporal's loader.
const templateMarker = "enable-template"

// IsTemplate reports whether a config file is a Go template: it has the
// `# enable-template` comment Temporal's loader looks for in its first
// KiB, or it contains "{{" anywhere (Temporal's docker config_template.yaml
// has no marker; plain YAML never needs "{{", which would be a parse error).
func IsTemplate(text []byte) bool {
	if bytes.Contains(text, []byte("{{")) {
		return true
	}
	head := text[:min(len(text), 1024)]
	sc := bufio.NewScanner(bytes.NewReader(head))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") && strings.Contains(line, templateMarker) {
			return true
		}
	}
	return false
}

// envRefs finds the environment variables a file names: ${VAR}, and in
// templates .Env.VAR, index .Env "VAR" and env "VAR".
var envRefs = []*regexp.Regexp{
	regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`),
	regexp.MustCompile(`\.Env\.([A-Za-z_][A-Za-z0-9_]*)`),
	regexp.MustCompile(`index\s+\.Env\s+"([A-Za-z_][A-Za-z0-9_]*)"`),
	regexp.MustCompile(`\benv\s+"([A-Za-z_][A-Za-z0-9_]*)"`),
}

// References returns the names of the environment variables a config
// file's text refers to, in any branch (a variable named only in an
// unused `if` branch still counts: the file reads it when it matters).
func References(text []byte) map[string]bool {
	names := map[string]bool{}
	for _, re := range envRefs {
		for _, m := range re.FindAllSubmatch(text, -1) {
			names[string(m[1])] = true
		}
	}
	return names
}

// renderTemplate executes a config template the way Temporal's loader
// does: `.Env.VAR` (missing when unset), `default VALUE DEFAULT` with
// dockerize's argument order (DEFAULT only when VALUE is unset), and a
// few sprig-like string functions. ${VAR} and ${VAR:default} references
// work too: they become template calls first, so a value is never itself
// read as template text. An unset variable printed directly would come
// out as "<no value>"; that is an error naming the line.
func renderTemplate(name string, text []byte, lookup func(string) (string, bool)) ([]byte, error) {
	env := map[string]string{}
	for n := range References(text) {
		if v, ok := lookup(n); ok {
			env[n] = v
		}
	}
	src := envRef.ReplaceAllFunc(text, func(ref []byte) []byte {
		m := envRef.FindSubmatch(ref)
		return fmt.Appendf(nil, "{{ sundialExpand %s %s %t }}", strconv.Quote(string(m[1])), strconv.Quote(string(m[2])),
			bytes.Contains(ref, []byte(":")))
	})
	tpl, err := template.New(name).Funcs(templateFuncs(lookup)).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("config %s: template: %s", name, strings.TrimPrefix(err.Error(), "template: "))
	}
	var out bytes.Buffer
	if err := tpl.Execute(&out, templateData{env: env}); err != nil {
		return nil, fmt.Errorf("config %s: template: %s", name, strings.TrimPrefix(err.Error(), "template: "))
	}
	for i, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "<no value>") {
			return nil, fmt.Errorf("config %s: rendered line %d prints an unset variable (%q); use {{ default .Env.VAR \"value\" }}",
				name, i+1, strings.TrimSpace(line))
		}
	}
	return out.Bytes(), nil
}

// templateData is the template's dot: .Env is the environment, as in
// dockerize and Temporal's loader.
type templateData struct{ env map[string]string }

// Env returns the variables the template names that are set.
func (d templateData) Env() map[string]string { return d.env }

// templateFuncs are the functions Temporal's docker templates use. A
// template calling any other function fails to parse, naming it.
func templateFuncs(lookup func(string) (string, bool)) template.FuncMap {
	return template.FuncMap{
		"default":  defaultValue,
		"env":      func(n string) string { v, _ := lookup(n); return v },
		"lower":    strings.ToLower,
		"upper":    strings.ToUpper,
		"trim":     strings.TrimSpace,
		"split":    func(s, sep string) []string { return strings.Split(s, sep) },
		"join":     func(sep string, a []string) string { return strings.Join(a, sep) },
		"replace":  func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"contains": func(sub, s string) bool { return strings.Contains(s, sub) },
		"quote":    func(s string) string { return strconv.Quote(s) },
		"squote":   func(s string) string { return "'" + s + "'" },
		"atoi":     func(s string) (int, error) { return strconv.Atoi(strings.TrimSpace(s)) },
		"isTrue": func(s string) bool {
			b, err := strconv.ParseBool(s)
			return err == nil && b
		},
		"sundialExpand": func(n, def string, hasDefault bool) string {
			v, _ := lookup(n)
			if v == "" && hasDefault {
				return def
			}
			return v
		},
	}
}

// defaultValue is dockerize's `default VALUE DEFAULT`, which Temporal's
// loader uses too: VALUE when it is set (even to ""), else DEFAULT. An
// unset `.Env.VAR` arrives as nil.
func defaultValue(args ...any) (string, error) {
	if len(args) != 2 {
		return "", fmt.Errorf("default wants 2 arguments (VALUE DEFAULT), got %d", len(args))
	}
	v := args[0]
	if v == nil {
		v = args[1]
	}
	if v == nil {
		return "", errors.New("default: both arguments are unset")
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("default: %v is not a string; quote it", v)
	}
	return s, nil
}
