module github.com/kpipe-dev/kpipe/tests/conformance/exchange/go

go 1.23

require github.com/kpipe-dev/kpipe/bindings-go v0.1.0

require github.com/goccy/go-json v0.12.0 // indirect

replace github.com/kpipe-dev/kpipe/bindings-go => ../../../../bindings-go
