package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Money is a price: Amount in the currency's smallest unit as Stripe counts
// it (cents; yen for the zero-decimal currencies), Currency a lowercase ISO
// 4217 code.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// String is the price as a person writes it: "12.50 EUR", "1500 JPY".
func (m Money) String() string {
	e := decimals(m.Currency)
	s := strconv.FormatInt(m.Amount, 10)
	if e > 0 {
		s = fmt.Sprintf("%0*d", e+1, m.Amount)
		s = s[:len(s)-e] + "." + s[len(s)-e:]
	}
	return s + " " + strings.ToUpper(m.Currency)
}

// MaxAmount is the largest price accepted, in the smallest unit: the eight
// digits Stripe takes for an amount in most currencies.
const MaxAmount = 99_999_999

// Stripe's rules for amounts (https://docs.stripe.com/currencies): every
// currency it charges in, the zero-decimal ones (the amount is in whole
// units), the three-decimal ones (the last digit must be 0), and ISK, which
// the API counts in hundredths but charges only in whole krónur.
var (
	zeroDecimal  = set("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
	threeDecimal = set("bhd jod kwd omr tnd")
	wholeUnits   = set("isk")
	currencies   = set(`aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd
		cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf
		idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr
		mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp
		sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw`)
)

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// decimals is how many decimals Stripe's amounts of currency c have.
func decimals(c string) int {
	switch {
	case zeroDecimal[c]:
		return 0
	case threeDecimal[c]:
		return 3
	}
	return 2
}

// ParseCurrency returns code in lowercase, or an error when Stripe does not
// charge in it.
func ParseCurrency(code string) (string, error) {
	c := strings.ToLower(strings.TrimSpace(code))
	switch {
	case c == "":
		return "", errors.New("no currency")
	case !currencies[c]:
		return "", fmt.Errorf("currency %q is not one Stripe charges in (a three-letter ISO code such as EUR, USD or JPY)", code)
	}
	return c, nil
}

var decimalRE = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?$`)

// ParseAmount converts price, a decimal string such as "12.50", into the
// smallest unit of currency (a code ParseCurrency accepted) exactly: no
// floating point, no rounding. It refuses what Stripe would refuse or what
// would be charged differently from what is written: more decimals than the
// currency has, fractions of a whole-unit currency, zero, and more than
// MaxAmount.
func ParseAmount(price, currency string) (int64, error) {
	s := strings.TrimSpace(price)
	m := decimalRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("price %q is not a decimal number such as 12.50 (digits, at most one '.', no sign, no thousands separator)", price)
	}
	whole, frac := strings.TrimLeft(m[1], "0"), m[2]
	cur := strings.ToUpper(currency)
	e := decimals(currency)
	if len(frac) > e {
		if strings.Trim(frac[e:], "0") != "" {
			if e == 0 {
				return 0, fmt.Errorf("price %q: %s has no decimals in Stripe; write a whole amount", price, cur)
			}
			return 0, fmt.Errorf("price %q has more than the %d decimals of %s", price, e, cur)
		}
		frac = frac[:e]
	}
	digits := whole + frac + strings.Repeat("0", e-len(frac))
	if len(strings.TrimLeft(digits, "0")) > len(strconv.Itoa(MaxAmount)) {
		return 0, fmt.Errorf("price %q is over Stripe's maximum of %s", price, Money{MaxAmount, currency})
	}
	amount, err := strconv.ParseInt("0"+digits, 10, 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("price %q: %w", price, err)
	case amount == 0:
		return 0, fmt.Errorf("price %q is zero: Payment Links sell for a price", price)
	case amount > MaxAmount:
		return 0, fmt.Errorf("price %q is over Stripe's maximum of %s", price, Money{MaxAmount, currency})
	case wholeUnits[currency] && amount%100 != 0:
		return 0, fmt.Errorf("price %q: Stripe charges %s in whole units only", price, cur)
	case threeDecimal[currency] && amount%10 != 0:
		return 0, fmt.Errorf("price %q: Stripe needs the third decimal of %s to be 0", price, cur)
	}
	return amount, nil
}
