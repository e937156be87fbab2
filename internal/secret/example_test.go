package secret_test

import (
	"fmt"

	"github.com/filedrop/filedrop/internal/secret"
)

// A secret prints as a hint of its kind; only Reveal gives it away.
func ExampleValue() {
	key := secret.Value("sk_test_51HxYz09AbCdEf")
	fmt.Println(key)
	fmt.Printf("%q %x\n", key, key)
	fmt.Println(secret.Value(""))
	// Output:
	// sk_test_…
	// "sk_test_…" sk_test_…
	// (unset)
}
