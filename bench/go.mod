module github.com/stratadb/strata/bench

go 1.23

require github.com/stratadb/strata v0.0.0

require github.com/syndtr/goleveldb v1.0.1-0.20220721030215-126854af5e6d

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang/snappy v1.0.0 // indirect
)

replace github.com/stratadb/strata => ../
