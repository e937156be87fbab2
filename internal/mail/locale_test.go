package mail

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLanguage(t *testing.T) {
	tests := []struct{ locale, want string }{
		{"", "en"}, {"auto", "en"}, {"en", "en"}, {"en-GB", "en"},
		{"de", "de"}, {"DE", "de"}, {"de-CH", "de"}, {"de_AT", "de"},
		{"fr", "fr"}, {"fr-CA", "fr"},
		{"es", "es"}, {"es-419", "es"},
		{"pt-BR", "en"}, {"ja", "en"}, {"zh-Hant-TW", "en"}, {"not a locale", "en"}, {"-", "en"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Language(tt.locale), "locale %q", tt.locale)
	}
}

// TestPhrasesComplete checks every language has every phrase, the order
// page's too, with the same format verbs as English.
func TestPhrasesComplete(t *testing.T) {
	for _, lang := range Languages() {
		require.Equal(t, lang, phrasesFor(lang).Lang)
		samePhrases(t, lang, reflect.ValueOf(phrasesEN), reflect.ValueOf(phrasesFor(lang)))
	}
}

// samePhrases checks that every string of p, a struct of phrases (with
// arrays and structs of them), is set and has en's format verbs.
func samePhrases(t *testing.T, path string, en, p reflect.Value) {
	for i := range p.NumField() {
		name := path + "." + p.Type().Field(i).Name
		f := p.Field(i)
		switch f.Kind() {
		case reflect.String:
			require.NotEmpty(t, f.String(), name)
			for _, verb := range []string{"%s", "%d"} {
				require.Equal(t, strings.Count(en.Field(i).String(), verb), strings.Count(f.String(), verb), "%s: %q", name, f.String())
			}
		case reflect.Array:
			for j := range f.Len() {
				require.NotEmpty(t, f.Index(j).String(), "%s[%d]", name, j)
			}
		case reflect.Struct:
			samePhrases(t, name, en.Field(i), f)
		}
	}
}

func TestPageWords(t *testing.T) {
	tests := []struct {
		page       Page
		lang, size string
	}{
		{PageFor("fr-CA"), "fr", "2,5 Mo"},
		{PageFor(""), "en", "2.5 MB"},
		{PageFor("pt-BR"), "en", "2.5 MB"},
		{PageForRequest("pt-BR,de-CH;q=0.9,en;q=0.8"), "de", "2,5 MB"},
		{PageForRequest("es-419,es;q=0.9"), "es", "2,5 MB"},
		{PageForRequest("ja, *;q=0.1"), "en", "2.5 MB"},
		{PageForRequest(""), "en", "2.5 MB"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.lang, tt.page.Lang)
		require.Equal(t, tt.size, tt.page.Size(2_500_000))
		require.Equal(t, phrasesFor(tt.lang).Page, tt.page.PagePhrases, "the mails' phrase table")
	}
	require.Equal(t, "512 octets", PageFor("fr").Size(512))
	require.Equal(t, "13. April 2025", PageFor("de").Date(time.Date(2025, 4, 13, 9, 0, 0, 0, time.UTC)))
}

func TestDates(t *testing.T) {
	at := time.Date(2025, 4, 13, 11, 26, 53, 0, time.FixedZone("CEST", 2*3600)) // 09:26 UTC, a Sunday
	tests := []struct{ lang, date, moment string }{
		{"en", "13 April 2025", "Sunday, 13 April 2025 at 09:26 UTC"},
		{"de", "13. April 2025", "Sonntag, 13. April 2025 um 09:26 UTC"},
		{"fr", "13 avril 2025", "dimanche 13 avril 2025 à 09:26 UTC"},
		{"es", "13 de abril de 2025", "domingo, 13 de abril de 2025, a las 09:26 UTC"},
	}
	for _, tt := range tests {
		p := phrasesFor(tt.lang)
		require.Equal(t, tt.date, p.date(at))
		require.Equal(t, tt.moment, p.moment(at))
	}
}

func TestMoney(t *testing.T) {
	const nb, nnb = "\u00a0", "\u202f" // no-break space, narrow no-break space
	tests := []struct {
		lang, currency string
		amount         int64
		want           string
	}{
		{"en", "eur", 1250, "€12.50"},
		{"en", "usd", 123456789, "$1,234,567.89"},
		{"en", "gbp", 5, "£0.05"},
		{"en", "eur", 0, "€0.00"},
		{"en", "chf", 1250, "CHF" + nb + "12.50"},
		{"en", "jpy", 1200, "¥1,200"}, // zero-decimal: the amount is in yen
		{"en", "krw", 15000, "KRW" + nb + "15,000"},
		{"en", "kwd", 12345, "KWD" + nb + "12.345"}, // three-decimal
		{"en", "EUR", 1250, "€12.50"},
		{"en", "eur", -1250, "-€12.50"},
		{"de", "eur", 1250, "12,50" + nb + "€"},
		{"de", "eur", 123450, "1.234,50" + nb + "€"},
		{"de", "jpy", 1200, "1.200" + nb + "¥"},
		{"de", "chf", 1250, "12,50" + nb + "CHF"},
		{"fr", "eur", 123450, "1" + nnb + "234,50" + nb + "€"},
		{"fr", "cad", 999, "9,99" + nb + "CAD"},
		{"es", "eur", 1250, "12,50" + nb + "€"},
		{"es", "clp", 9990, "9.990" + nb + "CLP"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, phrasesFor(tt.lang).money(tt.amount, tt.currency), "%s %d %s", tt.lang, tt.amount, tt.currency)
	}
}

func TestTextOn(t *testing.T) {
	require.Equal(t, "#ffffff", textOn(DefaultAccent))
	require.Equal(t, "#ffffff", textOn("#000000"))
	require.Equal(t, "#111111", textOn("#ffffff"))
	require.Equal(t, "#111111", textOn("#fde047")) // yellow
}

func TestWrap(t *testing.T) {
	require.Equal(t, "a b", wrap("a  b"))
	long := strings.Repeat("word ", 20)
	for _, line := range strings.Split(wrap(long), "\n") {
		require.LessOrEqual(t, len(line), TextWidth)
	}
	url := "https://example.com/" + strings.Repeat("x", 100)
	require.Equal(t, "see\n"+url+"\nnow", wrap("see "+url+" now"))
	require.Equal(t, "12,50\u00a0€", wrap("12,50\u00a0€"), "a no-break space is not a break")
}
