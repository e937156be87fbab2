package catalog_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/catalog"
)

// TestParseAmount: a decimal price becomes the currency's smallest unit
// exactly, or is refused with a reason, never rounded.
func TestParseAmount(t *testing.T) {
	tests := []struct {
		price, currency string
		want            int64
		err             string
	}{
		{price: "12.50", currency: "eur", want: 1250},
		{price: "12", currency: "eur", want: 1200},
		{price: "12.5", currency: "usd", want: 1250},
		{price: " 0.99 ", currency: "gbp", want: 99},
		{price: "12.500", currency: "eur", want: 1250},
		{price: "1500", currency: "jpy", want: 1500},
		{price: "1500.00", currency: "jpy", want: 1500},
		{price: "007.10", currency: "chf", want: 710},
		{price: "5.12", currency: "kwd", want: 5120},
		{price: "5.120", currency: "kwd", want: 5120},
		{price: "500", currency: "isk", want: 50000},
		{price: "999999.99", currency: "usd", want: 99_999_999},
		{price: "1500.50", currency: "jpy", err: "JPY has no decimals in Stripe"},
		{price: "12.345", currency: "eur", err: "more than the 2 decimals of EUR"},
		{price: "5.125", currency: "kwd", err: "the third decimal of KWD to be 0"},
		{price: "500.50", currency: "isk", err: "ISK in whole units only"},
		{price: "12,50", currency: "eur", err: "not a decimal number"},
		{price: "1,250.00", currency: "usd", err: "not a decimal number"},
		{price: "-5", currency: "eur", err: "not a decimal number"},
		{price: "1e3", currency: "eur", err: "not a decimal number"},
		{price: "", currency: "eur", err: "not a decimal number"},
		{price: "0.00", currency: "eur", err: "is zero"},
		{price: "1000000", currency: "usd", err: "over Stripe's maximum of 999999.99 USD"},
		{price: "99999999999999999999999", currency: "jpy", err: "over Stripe's maximum of 99999999 JPY"},
	}
	for _, tt := range tests {
		t.Run(tt.price+" "+tt.currency, func(t *testing.T) {
			got, err := catalog.ParseAmount(tt.price, tt.currency)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseCurrency(t *testing.T) {
	for in, want := range map[string]string{"EUR": "eur", " jpy ": "jpy", "Usd": "usd"} {
		got, err := catalog.ParseCurrency(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "EURO", "eu", "xyz", "€"} {
		_, err := catalog.ParseCurrency(bad)
		require.Error(t, err, bad)
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[catalog.Money]string{
		{Amount: 1250, Currency: "eur"}:  "12.50 EUR",
		{Amount: 5, Currency: "usd"}:     "0.05 USD",
		{Amount: 1500, Currency: "jpy"}:  "1500 JPY",
		{Amount: 5120, Currency: "kwd"}:  "5.120 KWD",
		{Amount: 50000, Currency: "isk"}: "500.00 ISK",
	} {
		require.Equal(t, want, m.String())
	}
}

func ExampleParseAmount() {
	for _, p := range []struct{ price, currency string }{{"12.50", "eur"}, {"1500", "jpy"}, {"12.345", "eur"}} {
		amount, err := catalog.ParseAmount(p.price, p.currency)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(amount)
	}
	// Output:
	// 1250
	// 1500
	// price "12.345" has more than the 2 decimals of EUR
}
