package kpipe_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nativeLibs are the system libraries the static kpipe_capi needs (cargo rustc
// --print native-static-libs); cgo.go lists the same.
var nativeLibs = strings.Fields("-lcurl -lz -lssl -lcrypto -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc")

// The C ABI's ownership rules: capi/tests/c/ownership.c built with AddressSanitizer and run
// with LeakSanitizer on (happy path and error path); any leak or failed check fails.
func TestCOwnershipUnderASan(t *testing.T) {
	stackEnv(t)
	if _, err := os.Stat("lib/libkpipe_capi.a"); err != nil {
		t.Fatalf("lib/libkpipe_capi.a missing: run make -C bindings-go (%v)", err)
	}
	bin := filepath.Join(t.TempDir(), "ownership")
	args := append([]string{"-fsanitize=address", "-g", "-Wall", "-Werror", "capi/tests/c/ownership.c", "-Iinclude", "-Llib", "-lkpipe_capi"}, nativeLibs...)
	args = append(args, "-o", bin)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	supp, _ := filepath.Abs("capi/tests/c/lsan.supp")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ASAN_OPTIONS=detect_leaks=1:exitcode=23:fast_unwind_on_malloc=0:malloc_context_size=12", "LSAN_OPTIONS=suppressions="+supp+":print_suppressions=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ownership checks: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ownership checks passed") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
