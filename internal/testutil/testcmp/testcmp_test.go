package testcmp_test

import (
	"fmt"
	"slices"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/testutil/testcmp"
)

// Both comparators are keys.Comparators that keys does not take for bytewise; Separator and
// Successor append a unchanged.
func Example() {
	ks := [][]byte{[]byte("b"), []byte("a"), []byte("c")}
	for _, cmp := range []keys.Comparator{testcmp.Reverse{}, testcmp.Other{}} {
		slices.SortFunc(ks, cmp.Compare)
		fmt.Printf("%s %s bytewise=%t separator=%s successor=%s\n", cmp.Name(), ks,
			keys.IsBytewise(cmp), cmp.Separator([]byte("x"), ks[0], ks[1]), cmp.Successor(nil, ks[2]))
	}
	// Output:
	// test.Reverse [c b a] bytewise=false separator=xc successor=a
	// test.Other [a b c] bytewise=false separator=xa successor=c
}
