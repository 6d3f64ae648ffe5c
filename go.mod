module github.com/chainrep/chain

go 1.26.8

require github.com/hashicorp/go-msgpack/v2 v2.1.5

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
