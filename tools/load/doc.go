// Package load drives the storefront as shoppers use it: sessions of a fixed, documented mix (browse,
// search, add to cart, buy) arrive at a steady rate, each with its own cookie jar, following the links
// and forms the pages carry and sending the CSRF token and Sec-Fetch-Site as a browser would. Every
// request is timed into HDR histograms per page and per step; Report writes the Markdown table and
// Chart the SVG of throughput and p99 over time. cmd/loadgen is the command (`make load`).
package load
