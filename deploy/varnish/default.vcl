# A partner's page composed by Varnish ESI from bff/embed: the page (from the partner's own server,
# backend "site") holds <esi:include src="/_embed/{context}/{fragment}?..." onerror="continue"/>, which
# Varnish fetches from bff/embed's /embed/v1/{context}/{fragment} with the partner's secret key
# (header Inlay-Partner-Secret) added here. Fragments are cached as their Cache-Control says
# (max-age, stale-while-revalidate as grace); an answer of 5xx is never cached, and its body (the
# fragment's fallback, from bff/embed) is what the page shows; bff/embed being down leaves the slot
# empty.
#
# The placeholders in double braces are filled in by the test (e2e/partner_test.go) or by hand:
#   {{SITE_HOST}} {{SITE_PORT}}    the partner's page server
#   {{EMBED_HOST}} {{EMBED_PORT}}  bff/embed
#   {{SECRET}}                     the partner's secret key (embedd partners add prints it)
#
#   varnishd -F -a 127.0.0.1:8091 -f /path/to/filled/default.vcl -n /tmp/partner-varnish
vcl 4.1;

backend site {
  .host = "{{SITE_HOST}}";
  .port = "{{SITE_PORT}}";
  .connect_timeout = 1s;
  .first_byte_timeout = 3s;
}

backend embed {
  .host = "{{EMBED_HOST}}";
  .port = "{{EMBED_PORT}}";
  .connect_timeout = 1s;
  .first_byte_timeout = 3s;
  .between_bytes_timeout = 3s;
}

sub vcl_recv {
  unset req.http.Cookie;
  unset req.http.Inlay-Partner-Secret;
  if (req.url ~ "^/_embed/") {
    # Only as an ESI include, never asked for from outside.
    if (req.esi_level == 0) {
      return (synth(404));
    }
    set req.backend_hint = embed;
    set req.url = regsub(req.url, "^/_embed/", "/embed/v1/");
    # An include carries the browser's headers: a secret key must never travel with them.
    unset req.http.Origin;
    unset req.http.Referer;
    unset req.http.Authorization;
    unset req.http.Sec-Fetch-Site;
    unset req.http.Sec-Fetch-Mode;
    unset req.http.Sec-Fetch-Dest;
    unset req.http.Sec-Fetch-User;
    set req.http.Inlay-Partner-Secret = "{{SECRET}}";
    return (hash);
  }
  set req.backend_hint = site;
}

sub vcl_backend_response {
  if (bereq.backend == site && beresp.http.Content-Type ~ "^text/html") {
    set beresp.do_esi = true;
    set beresp.ttl = 0s;
    set beresp.uncacheable = true;
    return (deliver);
  }
  if (beresp.status >= 500) {
    set beresp.ttl = 0s;
    set beresp.uncacheable = true;
  }
  # Otherwise Varnish honours the fragment's Cache-Control: max-age as the TTL,
  # stale-while-revalidate as grace, private and no-store as uncacheable.
}

sub vcl_backend_error {
  if (bereq.url ~ "^/embed/") {
    # bff/embed is unreachable: the include is left empty, the page still comes.
    set beresp.http.Content-Type = "text/html; charset=utf-8";
    synthetic("");
    return (deliver);
  }
}
