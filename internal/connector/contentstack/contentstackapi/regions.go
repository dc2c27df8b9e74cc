package contentstackapi

import "strings"

// Region is one Contentstack region and the hosts a connection needs: the
// Content Management API (CMA) and the app host the webhook signing key is
// published on (/.well-known/public-keys.json).
type Region struct {
	ID      string
	Name    string
	Aliases []string
	CMA     string // https://api.contentstack.io
	CDA     string
	App     string // https://app.contentstack.com
}

// Regions are the documented regions (lib/assets/regions.json of the JS
// management SDK; the CMA reference's base URL list matches). Only NA uses
// the .io TLD for the API hosts.
var Regions = []Region{
	{ID: "na", Name: "AWS North America", Aliases: []string{"us", "aws-na", "aws_na"},
		CMA: "https://api.contentstack.io", CDA: "https://cdn.contentstack.io", App: "https://app.contentstack.com"},
	{ID: "eu", Name: "AWS Europe", Aliases: []string{"aws-eu", "aws_eu"},
		CMA: "https://eu-api.contentstack.com", CDA: "https://eu-cdn.contentstack.com", App: "https://eu-app.contentstack.com"},
	{ID: "au", Name: "AWS Australia", Aliases: []string{"aws-au", "aws_au"},
		CMA: "https://au-api.contentstack.com", CDA: "https://au-cdn.contentstack.com", App: "https://au-app.contentstack.com"},
	{ID: "azure-na", Name: "Azure North America", Aliases: []string{"azure_na"},
		CMA: "https://azure-na-api.contentstack.com", CDA: "https://azure-na-cdn.contentstack.com", App: "https://azure-na-app.contentstack.com"},
	{ID: "azure-eu", Name: "Azure Europe", Aliases: []string{"azure_eu"},
		CMA: "https://azure-eu-api.contentstack.com", CDA: "https://azure-eu-cdn.contentstack.com", App: "https://azure-eu-app.contentstack.com"},
	{ID: "gcp-na", Name: "GCP North America", Aliases: []string{"gcp_na"},
		CMA: "https://gcp-na-api.contentstack.com", CDA: "https://gcp-na-cdn.contentstack.com", App: "https://gcp-na-app.contentstack.com"},
	{ID: "gcp-eu", Name: "GCP Europe", Aliases: []string{"gcp_eu"},
		CMA: "https://gcp-eu-api.contentstack.com", CDA: "https://gcp-eu-cdn.contentstack.com", App: "https://gcp-eu-app.contentstack.com"},
}

// LookupRegion finds a region by id or alias, ignoring case; "" is NA.
func LookupRegion(id string) (Region, bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		id = "na"
	}
	for _, r := range Regions {
		if r.ID == id {
			return r, true
		}
		for _, a := range r.Aliases {
			if a == id {
				return r, true
			}
		}
	}
	return Region{}, false
}

// RegionIDs lists the canonical region ids.
func RegionIDs() []string {
	out := make([]string, len(Regions))
	for i, r := range Regions {
		out[i] = r.ID
	}
	return out
}
