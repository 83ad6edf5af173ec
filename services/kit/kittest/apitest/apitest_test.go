package apitest_test

import (
	"testing"

	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
)

func TestSameShape(t *testing.T) {
	t.Parallel()
	example := `{"id":"a","n":1,"ok":true,"tags":["x"],"lines":[{"sku":"a","q":1}],"empty":[],"none":null}`
	for _, tt := range []struct {
		got  string
		same bool
	}{
		{`{"id":"b","n":2,"ok":false,"tags":[],"lines":[{"sku":"b","q":3},{"sku":"c","q":4}],"empty":[{"x":1}],"none":null}`, true},
		{`{"id":"b","n":2,"ok":false,"tags":[],"lines":[],"empty":[],"none":null,"extra":1}`, false},
		{`{"id":"b","n":2,"ok":false,"tags":[],"lines":[],"empty":[]}`, false},
		{`{"id":1,"n":2,"ok":false,"tags":[],"lines":[],"empty":[],"none":null}`, false},
		{`{"id":"b","n":2,"ok":false,"tags":[1],"lines":[],"empty":[],"none":null}`, false},
		{`{"id":"b","n":2,"ok":false,"tags":[],"lines":[{"sku":"b"}],"empty":[],"none":null}`, false},
		{`{"id":"b","n":2,"ok":false,"tags":[],"lines":[],"empty":[],"none":"x"}`, false},
		{`[]`, false},
	} {
		err := apitest.SameShape([]byte(example), []byte(tt.got))
		if (err == nil) != tt.same {
			t.Errorf("SameShape(%s) = %v, want same=%v", tt.got, err, tt.same)
		}
	}
}
