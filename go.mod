module github.com/chainrep/chain

go 1.26.8

require github.com/hashicorp/go-msgpack/v2 v2.1.5
