package catalog_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/catalog"
)

func file(data string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(data)} }

// TestLoad reads folders and their catalog.csv: what each file is sold as,
// or every problem, each with its line.
func TestLoad(t *testing.T) {
	photos := fstest.MapFS{
		"harbour-at-dawn.jpg":       file("h"),
		"landscapes/zürich_ost.jpg": file("z"),
		".DS_Store":                 file("x"),
		".thumbs/harbour.jpg":       file("t"),
	}
	with := func(sheet string) fstest.MapFS {
		fs := fstest.MapFS{"catalog.csv": file(sheet)}
		for k, v := range photos {
			fs[k] = v
		}
		return fs
	}
	type sold struct {
		file, name, price, description string
		named                          bool
	}
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		def      *catalog.Money
		want     []sold
		problems []string
	}{
		{name: "no catalog.csv: every file at the default, named from its file name", fsys: photos, def: eur,
			want: []sold{{file: "harbour-at-dawn.jpg", name: "Harbour at dawn", price: "12.00 EUR"}, {file: "landscapes/zürich_ost.jpg", name: "Zürich ost", price: "12.00 EUR"}}},
		{name: "no catalog.csv and no default", fsys: photos,
			problems: []string{"no catalog.csv and no default price: give the files a price"}},
		{name: "an empty folder", fsys: fstest.MapFS{".DS_Store": file("x")}, def: eur,
			problems: []string{"no files to sell in the folder"}},
		{name: "a spreadsheet's CSV: byte order mark, semicolons, CRLF, quotes",
			fsys: with("\ufeffFile;Name;Price;Currency;Description\r\nharbour-at-dawn.jpg;\"Harbour; at dawn\";12.5;eur;\"Morning, 6000 px\"\r\nlandscapes/zürich_ost.jpg;;1500;JPY;\r\n"),
			want: []sold{{file: "harbour-at-dawn.jpg", name: "Harbour; at dawn", price: "12.50 EUR", description: "Morning, 6000 px", named: true},
				{file: "landscapes/zürich_ost.jpg", name: "Zürich ost", price: "1500 JPY", description: ""}}},
		{name: "names only: the prices are the default",
			fsys: with("file,name\nharbour-at-dawn.jpg,Harbour\n./landscapes\\zürich_ost.jpg,\n"), def: eur,
			want: []sold{{file: "harbour-at-dawn.jpg", name: "Harbour", price: "12.00 EUR", named: true}, {file: "landscapes/zürich_ost.jpg", name: "Zürich ost", price: "12.00 EUR"}}},
		{name: "a row without price and currency is the default",
			fsys: with("file,name,price,currency\nharbour-at-dawn.jpg,Harbour,,\nlandscapes/zürich_ost.jpg,Zürich,9,usd\n"), def: eur,
			want: []sold{{file: "harbour-at-dawn.jpg", name: "Harbour", price: "12.00 EUR", named: true}, {file: "landscapes/zürich_ost.jpg", name: "Zürich", price: "9.00 USD", named: true}}},
		{name: "a bad header", fsys: with("file,title,price\nharbour-at-dawn.jpg,Harbour,12\n"),
			problems: []string{
				`catalog.csv line 1: unknown column "title" (the columns are file, name, price, currency, description)`,
				"catalog.csv line 1: a price column needs a currency column, and the reverse"}},
		{name: "no file column", fsys: with("name,price,currency\nHarbour,12,eur\n"),
			problems: []string{"catalog.csv line 1: no file column (the columns are file, name, price, currency, description)"}},
		{name: "bad rows, each with its line",
			fsys: with("file,name,price,currency\n\nharbour-at-dawn.jpg,Harbour,12,\n,Nameless,1,eur\nlandscapes/zürich_ost.jpg,Zürich,1,eur,extra\nharbour.jpg,Missing,1,eur\n\"unterminated,x,1,eur\n"),
			problems: []string{
				"catalog.csv line 3: a price needs its currency, and the reverse",
				"catalog.csv line 4: no file",
				"catalog.csv line 5: 5 fields, but the header names 4 columns",
				`catalog.csv line 6: file "harbour.jpg" is not in the folder`,
				"catalog.csv line 7: extraneous or missing \" in quoted-field"}},
		{name: "names that cannot be originals", def: eur,
			fsys: fstest.MapFS{`a\b.jpg`: file("x"), strings.Repeat("x", 497) + ".jpg": file("y"), "ok.jpg": file("z")},
			problems: []string{
				`a\b.jpg: invalid blob name "a\\b.jpg": it contains a backslash; rename the file`,
				strings.Repeat("x", 497) + ".jpg: the path is longer than 500 characters, the most a Stripe metadata value holds; shorten it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := catalog.Load(tt.fsys, tt.def)
			if tt.problems != nil {
				var ie *catalog.InputError
				require.ErrorAs(t, err, &ie)
				var got []string
				for _, p := range ie.Problems {
					got = append(got, p.String())
				}
				require.Equal(t, tt.problems, got)
				return
			}
			require.NoError(t, err)
			var got []sold
			for _, e := range entries {
				s := sold{file: e.Path, name: e.Name, price: e.Price.String(), named: e.NameGiven}
				if e.Description != nil {
					s.description = *e.Description
				}
				require.NotEmpty(t, e.SHA256)
				require.Len(t, e.MD5, 16)
				got = append(got, s)
			}
			require.Equal(t, tt.want, got)
		})
	}
}
