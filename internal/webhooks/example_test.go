package webhooks_test

import (
	"fmt"
	"time"

	"github.com/filedrop/filedrop/internal/webhooks"
)

// The webhook-signature of the Standard Webhooks libraries' published test
// vector.
func ExampleSigner_Sign() {
	s, err := webhooks.NewSigner([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)))
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}
