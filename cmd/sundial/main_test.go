package main

import "testing"

// start-dev serves the Web UI on --port + 1000 and --ip unless told
// otherwise, as `temporal server start-dev`; --headless turns it off.
func TestStartDevUIFlags(t *testing.T) {
	fl := startDevCommand().Flags()
	for flag, want := range map[string]string{"ui-port": "0", "ui-ip": "", "headless": "false", "port": "7233"} {
		if got := fl.Lookup(flag).DefValue; got != want {
			t.Errorf("--%s default = %q, want %q", flag, got, want)
		}
	}
	for _, c := range []struct {
		f    devFlags
		want string
	}{
		{devFlags{ip: "127.0.0.1", port: 7233}, "127.0.0.1:8233"},
		{devFlags{ip: "0.0.0.0", port: 7400, uiPublicPath: "/ui"}, "0.0.0.0:8400"},
		{devFlags{ip: "127.0.0.1", port: 7233, uiIP: "127.0.0.2", uiPort: 9000}, "127.0.0.2:9000"},
	} {
		if ui := c.f.ui(); ui == nil || ui.Address != c.want || ui.PublicPath != c.f.uiPublicPath {
			t.Errorf("%+v: UI = %+v, want %s", c.f, ui, c.want)
		}
	}
	f := devFlags{ip: "127.0.0.1", port: 7233, headless: true}
	if ui := f.ui(); ui != nil {
		t.Errorf("--headless: UI = %+v, want none", ui)
	}
}
