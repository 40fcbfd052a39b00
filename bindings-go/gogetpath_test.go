package kpipe_test

import (
	"os/exec"
	"strings"
	"testing"
)

// README.md's instructions for using the module from elsewhere (module cache copy without
// lib/, CGO_LDFLAGS pointing at a built library) build and run a program.
func TestGoGetPathFromTheReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("links a separate program (about 20 s); run without -short")
	}
	out, err := exec.Command("bash", "scripts/check-go-get.sh").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "go-get path ok") {
		t.Fatalf("%v\n%s", err, out)
	}
}
