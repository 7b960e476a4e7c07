"""Slot pools for the demo prompts: people, companies, products, errors, topics, documents, calls, tickets.

The pools avoid PII look-alikes (no IPv4 addresses, no 13+ digit ids, no `token = ...` assignments) so the
detector's hits are the planted ones.
"""

from __future__ import annotations

# fmt: off
FIRST = ["Dana", "Priya", "Tomasz", "Lea", "Marco", "Aisha", "Kenji", "Sofia", "Liam", "Ingrid", "Omar",
         "Chloe", "Mateo", "Hannah", "Ravi", "Elena", "Jonas", "Fatima", "Noah", "Camille"]
LAST = ["Whitfield", "Raman", "Kowalski", "Schneider", "Bianchi", "Okafor", "Tanaka", "Costa", "Murphy",
        "Lindqvist", "Haddad", "Dubois", "Alvarez", "Becker", "Iyer", "Petrova", "Weber", "Nasser"]
COMPANIES = [("Northwind Logistics", "northwind-logistics.com"), ("Contoso Freight", "contoso-freight.com"),
             ("Globex Cold Chain", "globex-coldchain.com"), ("Initech Distribution", "initech-dist.com"),
             ("Umbrella Haulage", "umbrella-haulage.co.uk"), ("Tyrell Foods", "tyrellfoods.com"),
             ("Stark Parcel", "starkparcel.de"), ("Wayne Shipping", "wayneshipping.com"),
             ("Soylent Grocers", "soylent-grocers.fr"), ("Hooli Retail", "hooli-retail.com"),
             ("Vandelay Imports", "vandelay-imports.com"), ("Acorn Pharma Logistics", "acornpharma.nl")]
PRODUCTS = ["ACME Insights", "ACME Connect", "ACME Dispatch", "ACME Reports", "Route Planner", "Driver App",
            "Scanner App", "Customer Portal"]
FLEET_PRODUCTS = ["ACME Fleet", "Fleet Hub", "Fleet Gateway", "Fleet Driver App"]
MIGRATIONS = {
    "python": ["from Flask to FastAPI, keeping the public routes", "from SQLAlchemy 1.4 to 2.0 style",
               "from Python 3.9 to 3.12, with pattern matching and modern typing where it helps"],
    "typescript": ["from JavaScript to TypeScript with strict types", "from Express 4 to Fastify"],
    "go": ["from the deprecated ioutil calls to io and os", "from gorilla/mux to the Go 1.22 router"],
    "java": ["from Java 8 to Java 21 records and streams", "from Spring Boot 2 to Spring Boot 3"],
}
PLANS = ["Pro plan", "Team plan", "Enterprise plan", "Starter plan", "Growth plan"]
ACTIONS = ["open the settings screen", "export a report to CSV", "assign a route to a driver",
           "upload a delivery manifest", "switch workspaces", "print shipping labels", "filter by depot",
           "sync the scanner at the end of a shift", "add a new depot"]
ERRORS = ["Error 503: upstream unavailable", "ERR_CONNECTION_RESET", "Something went wrong (code 0x1F)",
          "Sync failed: conflict on record", "403 Forbidden", "Request timed out after 30s",
          "Unexpected token < in JSON at position 0", "Export failed: file too large"]
FLEET_ERRORS = ["FLT-2041 pairing rejected", "FLT-1187 firmware mismatch", "FLT-3302 no GPS fix",
                "FLT-0904 gateway not registered", "FLT-5120 CAN bus timeout"]
INTEGRATIONS = ["Shopify", "SAP", "NetSuite", "Salesforce", "Slack", "Microsoft Teams", "Okta", "Zapier"]
IDPS = ["Okta", "Azure AD", "Google Workspace", "OneLogin"]
COUNTRIES = ["Germany", "France", "the Netherlands", "Spain", "Ireland", "Poland", "Canada", "Texas"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
VEHICLES = ["refrigerated trailer", "van", "box truck", "forklift", "tractor unit"]
TOPICS_RES = ["cold-chain emissions reporting", "last-mile delivery pricing", "driver retention",
              "warehouse robotics adoption", "EU tachograph rules", "route optimisation algorithms",
              "fleet electrification", "returns logistics"]
SEGMENTS_RES = ["mid-market cold-chain logistics", "urban same-day delivery", "pharma logistics",
                "grocery e-commerce fulfilment", "cross-border parcel", "fleet telematics for SMBs"]
DOC_KINDS = ["board pack", "market study", "due-diligence report", "customer interview notes",
             "quarterly business review", "analyst report", "competitor teardown", "RFP"]
# fmt: on
DOC_PARAS = [
    "Volumes in the segment grew 11% year on year, driven by grocery and pharmaceutical shippers that need "
    "temperature-controlled last-mile capacity; margins stayed flat as fuel and labour costs rose.",
    "Interviewees repeatedly mentioned visibility as the main pain point: dispatchers switch between three "
    "tools to answer a single customer question about an arriving pallet.",
    "The regulatory outlook is mixed. Reporting duties for scope 3 emissions will apply to large shippers "
    "first, with carriers expected to supply per-shipment data within two years.",
    "Competitors bundle telematics hardware at cost and recover it through multi-year software contracts; "
    "churn after the first renewal is reported between 8% and 14%.",
    "Our pilot customers reduced empty kilometres by 6.5% on average, with the largest gains on routes "
    "that combine two or more depots.",
    "Risks: dependence on one hardware supplier, slower procurement cycles in the public sector, and a "
    "shortage of installers in rural regions.",
    "Table 4 compares cost per drop across the five largest metro areas; the spread is widest for "
    "same-day slots booked after 10:00.",
    "The appendix lists the assumptions behind the base, upside and downside cases, including a 2% annual "
    "price erosion in the core segment.",
]
TRANSCRIPT = [
    "{a}: Thanks for making time today. How are the depots coping with the peak season?",
    "{b}: Honestly it is chaos on Mondays, we re-plan routes by hand for the first two hours.",
    "{a}: That is exactly where the planner helps; most customers cut that to twenty minutes.",
    "{b}: Our concern is the rollout. We have 40 sites and only two people in operations IT.",
    "{a}: We would start with a pilot at three sites and a named onboarding lead.",
    "{b}: Budget is approved for this year, but procurement wants a comparison with the incumbent.",
    "{a}: Understood. I can send references from two customers of a similar size.",
    "{b}: Send the security questionnaire as well, that always takes the longest.",
]
HISTORY = [
    "Tier 1 checked the account settings and cleared the cache; no change.",
    "Customer confirmed the issue on two devices and in the web app.",
    "Previous agent promised a callback that did not happen.",
    "Logs show repeated failures since the last release.",
    "Customer is on a renewal call with their account manager next week.",
]
