package server

import (
	"net/netip"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/kit/clientip"
)

// ClientAddr is c's client address behind proxies (clientip.Proxies.Client): the connection's peer,
// or the address a trusted proxy forwarded. X-Forwarded-For is read only when some proxy is trusted.
func ClientAddr(c *fiber.Ctx, proxies clientip.Proxies) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	var xff []string
	if len(proxies) > 0 {
		for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
			xff = append(xff, string(v))
		}
	}
	return proxies.Client(peer, xff)
}
