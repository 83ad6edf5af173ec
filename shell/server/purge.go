package server

import (
	"crypto/subtle"
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// purgeRequest is the body of POST /_inlay/purge. Each target is "context" (all of a team's
// fragments), "context/name" (one fragment, any parameters) or "context/name?params" (one copy);
// each tag removes every fragment that named it in its Inlay-Tags ("product:CL-01").
type purgeRequest struct {
	Targets []string `json:"targets"`
	Tags    []string `json:"tags"`
}

// maxPurgeItems bounds the targets and tags of one purge request.
const maxPurgeItems = 1000

// purge removes cached fragments, here and (through Redis) in every shell replica. A team calls it
// after a change (or a consumer of its events does). It needs the INLAY_PURGE_TOKEN bearer token;
// without one configured, only loopback callers may purge.
func (s *Shell) purge(c *fiber.Ctx) error {
	if !s.purgeAllowed(c) {
		return errs.Errorf(errs.EFORBIDDEN, "purge not allowed")
	}
	if s.cache == nil {
		return c.JSON(fiber.Map{"purged": 0})
	}
	var req purgeRequest
	if err := c.BodyParser(&req); err != nil || len(req.Targets)+len(req.Tags) == 0 || len(req.Targets)+len(req.Tags) > maxPurgeItems {
		return errs.Errorf(errs.EINVALID, `body must be {"targets":["context[/name[?params]]",...],"tags":["tag",...]} with 1 to %d items`, maxPurgeItems)
	}
	for _, tag := range req.Tags {
		if !fragments.ValidTag(tag) {
			return errs.Errorf(errs.EINVALID, "bad purge tag %q", tag)
		}
	}
	total := 0
	for _, t := range req.Targets {
		prefix, err := s.teams.PurgePrefix(t)
		if err != nil {
			return errs.Wrap(errs.EINVALID, err, "bad purge target "+t)
		}
		n, err := s.cache.Purge(c.UserContext(), prefix)
		if err != nil {
			return errs.Wrap(errs.EUNAVAILABLE, err, "purge failed")
		}
		total += n
	}
	for _, tag := range req.Tags {
		n, err := s.cache.PurgeTag(c.UserContext(), tag)
		if err != nil {
			return errs.Wrap(errs.EUNAVAILABLE, err, "purge failed")
		}
		total += n
	}
	return c.JSON(fiber.Map{"purged": total})
}

func (s *Shell) purgeAllowed(c *fiber.Ctx) bool {
	if s.cfg.PurgeToken != "" {
		got := strings.TrimPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		return subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.PurgeToken)) == 1
	}
	ip := net.ParseIP(c.Context().RemoteIP().String())
	return ip != nil && ip.IsLoopback()
}
