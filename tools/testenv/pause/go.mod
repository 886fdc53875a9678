// The real node's pod sandbox program (see main.go); standard library only.
module ogcapi-k8s-manager/testenv/pause

go 1.24.0
