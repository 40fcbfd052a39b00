module github.com/kpipe-dev/kpipe/tests/conformance/cross_go

go 1.22

require github.com/kpipe-dev/kpipe/bindings-go v0.1.0

replace github.com/kpipe-dev/kpipe/bindings-go => ../../../bindings-go
