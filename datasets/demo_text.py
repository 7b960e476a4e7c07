"""Prompt text for the demo traffic: phrasings per segment, slot fillers and planted PII.

Each segment has many templates; slots (`{product}`, `{order}`, `{trace}`, ...) are filled from small pools
with a numpy Generator, so one seed always gives the same text. The phrasings are written so that the keyword
and regex signals of the acme routers fire the way a real gateway's would, misses included: some refund
tickets never say "refund", some German and French tickets match no English keyword, and "activation"
contains the billing keyword "vat". PII (emails, phone numbers, Luhn-valid card numbers, mod-97-valid IBANs,
cloud keys) is only ever inserted where the caller plants it, and the pools avoid look-alikes (no IPv4
addresses, no 13+ digit ids, no `token = ...` assignments) so the detector's hits are the planted ones.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from routelab.datasets.errors import DatasetError

#: Stored prompts are cut to this many characters; the rest is described in the request's attrs.
MAX_PROMPT_CHARS = 4000

# ------------------------------------------------------------------------------------------- slot pools
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


def _snippets(text: str) -> list[str]:
    """Code snippets separated by lines holding only `---`."""
    return [part.strip("\n") + "\n" for part in text.split("\n---\n")]


CODE = {
    "python": _snippets(
        """
def parse_config(path: str) -> dict:
    with open(path) as fh:
        raw = yaml.safe_load(fh)
    return {k.lower(): v for k, v in raw.items()}
---
class RouteCache:
    def __init__(self, ttl_s: int = 300) -> None:
        self._ttl = ttl_s
        self._items: dict[str, tuple[float, Route]] = {}

    def get(self, key: str) -> Route | None:
        hit = self._items.get(key)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        return None
---
def assign_driver(route: Route, drivers: list[Driver]) -> Driver:
    free = [d for d in drivers if d.shift_ends > route.eta]
    return min(free, key=lambda d: d.distance_to(route.start))
---
async def fetch_manifest(client: httpx.AsyncClient, depot_id: int) -> Manifest:
    resp = await client.get(f'/depots/{depot_id}/manifest')
    resp.raise_for_status()
    return Manifest.model_validate(resp.json())
---
@app.get('/shipments/{shipment_id}')
def read_shipment(shipment_id: int, db: Session = Depends(get_db)):
    row = db.get(Shipment, shipment_id)
    if row is None:
        raise HTTPException(404)
    return row
---
def eta_minutes(stops: list[Stop], speed_kmh: float = 32.0) -> int:
    km = sum(a.distance_to(b) for a, b in pairwise(stops))
    dwell = 4 * len(stops)
    return round(km / speed_kmh * 60) + dwell
---
@dataclass(frozen=True)
class Depot:
    depot_id: int
    name: str
    opens: time
    closes: time

    def is_open(self, at: datetime) -> bool:
        return self.opens <= at.time() < self.closes
---
def load_manifest_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline='') as fh:
        for row in csv.DictReader(fh):
            if row.get('status') != 'cancelled':
                yield row
"""
    ),
    "typescript": _snippets(
        """
export function groupByDepot(stops: Stop[]): Map<string, Stop[]> {
  const out = new Map<string, Stop[]>();
  for (const s of stops) {
    const list = out.get(s.depotId) ?? [];
    list.push(s);
    out.set(s.depotId, list);
  }
  return out;
}
---
const useShipments = (depot: string) => {
  const [rows, setRows] = useState<Shipment[]>([]);
  useEffect(() => { api.list(depot).then(setRows); }, [depot]);
  return rows;
};
---
router.post('/labels', async (req, res) => {
  const label = await printer.render(req.body);
  res.status(201).json(label);
});
---
export async function retry<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try { return await fn(); } catch (e) { last = e; }
    await sleep(250 * 2 ** i);
  }
  throw last;
}
"""
    ),
    "go": _snippets(
        """
func (s *Server) HandleETA(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("route")
	eta, err := s.planner.ETA(r.Context(), id)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	json.NewEncoder(w).Encode(eta)
}
---
func batch(items []Stop, size int) [][]Stop {
	var out [][]Stop
	for size < len(items) {
		items, out = items[size:], append(out, items[0:size:size])
	}
	return append(out, items)
}
"""
    ),
    "java": _snippets(
        """
public Optional<Driver> nextFree(List<Driver> drivers, Instant eta) {
    return drivers.stream().filter(d -> d.shiftEnds().isAfter(eta))
        .min(Comparator.comparing(Driver::load));
}
---
@Scheduled(cron = "0 0 2 * * *")
public void nightlySync() {
    for (Depot depot : depots.findAll()) {
        syncClient.push(depot.getId(), exporter.export(depot));
    }
}
"""
    ),
}
TRACES = {
    "python": [
        'Traceback (most recent call last):\n  File "app/routes.py", line 88, in read_shipment\n'
        "    return row.to_dict()\nAttributeError: 'NoneType' object has no attribute 'to_dict'\n",
        'Traceback (most recent call last):\n  File "worker/sync.py", line 142, in run\n'
        "    payload = manifest['stops']\nKeyError: 'stops'\n",
    ],
    "java": [
        'Exception in thread "main" java.lang.NullPointerException: Cannot invoke "Depot.getId()"\n'
        "\tat com.acme.sync.Client.run(Client.java:42)\n\tat com.acme.sync.Main.main(Main.java:17)\n",
        "java.lang.IllegalStateException: Connection pool shut down\n"
        "\tat com.acme.dispatch.PlannerService.eta(PlannerService.java:211)\n",
    ],
    "go": [
        "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 17 [running]:\n"
        "main.batch(...)\n\t/src/planner/batch.go:14 +0x1d\n",
    ],
    "typescript": [
        "TypeError: Cannot read properties of undefined (reading 'depotId')\n"
        "    at groupByDepot (src/stops.ts:4:28)\n    at Array.forEach (<anonymous>)\n",
    ],
}
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


# ------------------------------------------------------------------------------------------- PII makers
def luhn_card(rng: np.random.Generator) -> str:
    """A 16-digit Visa or Mastercard number whose Luhn checksum is valid, grouped by spaces or dashes."""
    prefix = [4] if rng.random() < 0.6 else [5, int(rng.integers(1, 6))]
    digits = prefix + [int(d) for d in rng.integers(0, 10, 15 - len(prefix))]
    total = 0
    for i, d in enumerate(reversed(digits)):  # the check digit will sit at position 0 from the right
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    sep = [" ", "-", ""][int(rng.integers(3))]
    return sep.join(text[i : i + 4] for i in range(0, 16, 4))


_IBAN_BBAN = {"DE": "9999999999" + "99999999", "NL": "AAAA" + "9" * 10, "FR": "9" * 23, "ES": "9" * 20}


def iban(rng: np.random.Generator, country: str = "DE") -> str:
    """An IBAN with correct ISO 13616 check digits, printed in groups of four."""
    bban = "".join(
        chr(65 + int(rng.integers(26))) if c == "A" else str(int(rng.integers(10)))
        for c in _IBAN_BBAN[country]
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    compact = f"{country}{check:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def phone(rng: np.random.Generator) -> str:
    """A phone number in one of the formats the detector knows (NANP, UK, German, French)."""
    n = rng.integers(0, 10, 8)
    d = "".join(map(str, n))
    return [
        f"(415) 555-{d[:4]}",
        f"+1 646 555 {d[:4]}",
        f"+44 20 7946 {d[:4]}",
        f"+49 30 {d[:6]}",
        f"+33 1 42 {d[:2]} {d[2:4]} {d[4:6]}",
    ][int(rng.integers(5))]


def secret(rng: np.random.Generator) -> str:
    """A pasted cloud credential (AWS key id or an OpenAI-style key)."""
    alnum = string.ascii_uppercase + string.digits
    if rng.random() < 0.5:
        return "AWS_ACCESS_KEY_ID=AKIA" + "".join(alnum[int(i)] for i in rng.integers(0, 36, 16))
    chars = string.ascii_letters + string.digits
    return "OPENAI_API_KEY=sk-proj-" + "".join(chars[int(i)] for i in rng.integers(0, 62, 32))


# ------------------------------------------------------------------------------------------- templates
#: Segment → list of templates. `{pii_*}` slots only appear in the PII variants below.
TEMPLATES: dict[str, list[str]] = {
    "support/refund": [
        "Hi, I was charged for the {plan} after I cancelled on {date}. Please refund the payment.",
        "I'd like a refund for order {order}. Our {product} add-on never worked.",
        "Can I get my money back for the annual subscription? We moved to a different tool in week one.",
        "Please reimburse the {amount} we paid for order {order}, the scanners arrived damaged.",
        "Requesting a refund of {amount} on invoice {invoice}: we were billed for 25 seats but only use 10.",
        "Our {plan} renewed automatically yesterday and I need that payment refunded, we did not mean to.",
        "Refund request for order {order}, receipt attached. Items returned on {date}.",
        "We cancelled within the 14-day trial but the card was still debited {amount}. Please reverse it.",
        "We downgraded to the {plan} in {month} but kept paying the old price. Please refund the difference.",
        "{product} was unusable for a week during your incident. We expect a refund for that period.",
    ],
    "support/dispute": [
        "I was charged twice for order {order} ({amount} each). Please fix this.",
        "There is an unauthorized charge of {amount} on our account from {date}; nobody here bought it.",
        "We were double charged this month: two identical invoices, {invoice} and {invoice2}.",
        "I will file a chargeback with my bank unless the payment for the {plan} upgrade I never asked for "
        "is reversed.",
        "I want to dispute the amount on order {order}, it does not match the quote we signed.",
        "You overcharged us by {amount} on the last invoice. The contract says 40 seats at the lower rate.",
        "Our finance team flagged a charge of {amount} that we don't recognise. Can you explain it?",
        "Why were we double-charged for the {plan}? Our bank shows {amount} taken on {date} and again today.",
    ],
    "support/escalation": [
        "Customer escalated: third refund request for the annual subscription payment, still not processed.",
        "Agent escalation: {company}'s SSO login keeps failing after the {product} update and tier 1 could "
        "not resolve it.",
        "Escalating ticket {ticket}: {company} reports data missing from {product} exports since {date}.",
        "Tier 2 please: customer wants the invoice corrected and the difference refunded, or they cancel.",
        "Escalation from chat: customer has waited 5 days for a replacement scanner for order {order}.",
        "Escalating: {company} cannot {action} in {product} for any user; they have a go-live on Monday.",
    ],
    "support/triage": [
        "New ticket: customer cannot find the export button in the reports view. Classify category, "
        "priority and product.",
        "New ticket: user asks how to change the dashboard language. Tag it.",
        "Classify this ticket: 'the invoice shows the wrong company address'.",
        "New ticket from {company}: 'drivers are logged out of the driver app every hour'. Assign a queue.",
        "New ticket: customer asks for a refund of order {order}. Classify and set priority.",
        "Tag this ticket: '{product} shows {error} when I {action}'.",
        "New ticket: 'how many seats are included in the {plan}?' Classify category and product.",
        "Route this ticket to a team: 'labels print blank on the warehouse printers since {date}'.",
    ],
    "support/troubleshoot": [
        "{product} crashes when I {action}.",
        "Since this morning {product} shows '{error}' when I try to {action}.",
        "Sync fails every night: {java_trace}",
        "We can't get the {integration} integration to connect, it times out after 30 seconds.",
        "The barcode scanner pairs but every scan shows as an unknown item in {product}.",
        "The route optimisation in {product} ignores the time windows we set for {company}.",
        "Drivers see an empty stop list in the driver app although the route is assigned. Reinstalling did "
        "not help.",
        "After the last update, {product} takes over a minute to load the map for our biggest depot.",
    ],
    "support/troubleshoot-fleet": [
        "Our new {fleet} shows '{fleet_error}' right after setup.",
        "{fleet} won't pair with the {vehicle} trackers, error {fleet_error}.",
        "How do I activate the Fleet telematics unit? Activation keeps failing with {fleet_error}.",
        "The Fleet dashboard shows vehicles offline although the devices have signal.",
        "Activation of 12 new Fleet gateways is stuck at 'pending' since {date}.",
        "Fleet Hub reports wrong fuel levels for our {vehicle} fleet since the firmware update.",
        "We migrated from the old trackers to {fleet} and half the vehicles are missing on the map.",
    ],
    "support/howto": [
        "How do I add a teammate to my workspace?",
        "How can I change the language of the dashboard?",
        "Where do I set up SSO with {idp}?",
        "Can I export reports to CSV on the {plan}?",
        "How do I set up a second depot with its own opening hours?",
        "Is there a way to bulk-import drivers from a spreadsheet?",
        "How do I connect {product} to {integration}?",
        "What is the difference between the {plan} and the Enterprise plan for route planning?",
    ],
    "support/faq": [
        "How do I download a PDF invoice for last month?",
        "Where can I find the receipt for my last payment?",
        "Do you charge VAT for customers in {country}?",
        "How do I switch from monthly to annual billing?",
        "Which payment methods do you accept?",
        "Can I add our VAT number to the invoices?",
        "Why does my invoice show {currency} instead of {currency2}?",
        "When will my subscription renew?",
        "Can I get the invoices sent to our accounts payable team automatically?",
    ],
    "support/outage": [
        "Is {product} down? We get '{http_error}' since {time} UTC.",
        "Your status page says all green but the API is down for us.",
        "Following up on INC-{inc}: exports are still failing for {company}.",
        "Service unavailable errors on {product} for our EU workspace, is there an outage?",
        "Re INC-{inc}: drivers still cannot sync, when is the fix expected?",
    ],
    "support/complaint": [
        "This is the third time I have asked about my account settings, unacceptable.",
        "Really disappointed with the support on ticket {ticket}, nobody has answered in a week.",
        "Worst service we have had from a vendor. I want to speak to a manager about {product}.",
        "Unacceptable: the driver app lost a full day of proof-of-delivery photos.",
    ],
    "support/legal": [
        "Under GDPR I request deletion of all personal data you hold about me and my team.",
        "Our lawyer will contact you about the data breach notice we received on {date}.",
        "We received a subpoena regarding account {ticket}; who handles legal requests?",
        "We are considering legal action over the lost shipment records from {month}.",
        "Please send your GDPR data processing agreement and the list of sub-processors.",
    ],
    "support/account": [
        "Please transfer ownership of the workspace from {person} to {person2}.",
        "How do I remove a user who left the company?",
        "Can we merge our two workspaces into one?",
        "Please rename our workspace to {company}.",
    ],
    "coding/completion": ["{code}"],
    "coding/debug": [
        "Why does this function return None when the cache is warm?\n{code}",
        "I get this error, what is wrong?\n{trace}",
        "Help me fix this crash in production:\n{trace}\nRelevant code:\n{code}",
        "This test is flaky in CI, about one run in five fails:\n{code}",
        "Memory keeps growing in the sync worker until it is OOM-killed. Here is the loop:\n{code}",
    ],
    "coding/review": [
        "Review this pull request for concurrency bugs.\n```diff\n{diff}```",
        "Please review this change before I merge it, especially error handling:\n```diff\n{diff}```",
        "Code review: is this migration safe to run on a live table?\n```diff\n{diff}```",
    ],
    "coding/migration": [
        "Migrate this service {migration}.\n{code}",
        "Port this module {migration}.\n{code}",
        "We are moving {migration}; rewrite this file accordingly.\n{code}",
    ],
    "coding/migration-fleet": [
        "Port our {service} client from fleet-api v1 to the Fleet API v2 SDK (events are streamed).\n{code}",
        "Move the telematics ingestion job to the Fleet API v2 webhooks, keep the retry semantics.\n{code}",
        "Our dispatch service still calls the v1 vehicle endpoints; rewrite it for Fleet API v2.\n{code}",
    ],
    "coding/explain": [
        "Explain what this {lang} code does:\n{code}",
        "Walk me through this {lang} code, I am new to the repo:\n{code}",
        "What is the time complexity of this?\n{code}",
    ],
    "coding/test": [
        "Write unit tests for this function:\n{code}",
        "Add tests covering the edge cases (empty input, one element):\n{code}",
    ],
    "coding/refactor": [
        "Refactor this {lang} code to remove the duplicated validation logic:\n{code}",
        "Make this more readable without changing behaviour:\n{code}",
        "Split this into smaller functions and add type hints:\n{code}",
    ],
    "research/summarise": [
        "Summarise the attached {doc_kind} and list the open risks.\n\n{doc}",
        "Summarise the Q3 customer interview notes in ten bullet points.\n\n{doc}",
        "Give me a one-page summary of this {doc_kind} for the leadership team.\n\n{doc}",
    ],
    "research/qa": [
        "What did we decide about {topic} in the {month} planning doc?",
        "Which customers mentioned {topic} in the last quarterly business reviews?",
        "Find our latest internal numbers on {topic}.",
    ],
    "research/analysis": [
        "Assess the synergies of acquiring {company} using the attached board memo.\n\n{doc}",
        "Compare our unit economics with {company}'s and explain the gap.\n\n{doc}",
        "Analyse the churn drivers in the attached {doc_kind} and propose three actions.\n\n{doc}",
    ],
    "research/market_research": [
        "Size the {segment_res} segment in {country}.",
        "Who are the five biggest competitors in {segment_res} and how do they price?",
        "Estimate the addressable market for fleet telematics among {segment_res} carriers in {country}.",
    ],
    "research/literature_review": [
        "Review recent literature on {topic} and summarise the five most relevant findings.\n\n{doc}",
        "What does the research say about {topic}? Use the attached papers.\n\n{doc}",
    ],
    "sales/email": [
        "Draft a follow-up email after the demo with {company}'s operations team.",
        "Write a prospecting email to the VP Logistics at {company} about route planning.",
        "Draft a short reminder to {person} at {company} about the pilot kick-off on {date}.",
        "Write a thank-you note to {company} for the site visit, mention the next steps.",
    ],
    "sales/crm_notes": [
        "Write CRM notes: {person} from {company} will sign the renewal at {pct}% off; budget {budget}.",
        "Update the CRM entry for {company}: champion is {person}, decision expected in {month}.",
        "CRM notes from today's meeting with {company}: they want a 3-site pilot and a security review.",
    ],
    "sales/call_summary": [
        "Summarise the call with {person} from {company}: {transcript}",
        "Summarise the discovery call below and list next steps.\n{transcript}",
    ],
    "sales/proposal": [
        "Draft a proposal for a {seats}-seat {plan} for {company}.",
        "Draft the executive summary of our proposal for {company}.",
        "Draft our response to {company}'s logistics-platform RFP (full RFP attached).\n\n{doc}",
        "Write the pricing section of the proposal for {company}: {seats} seats, 3-year term.",
    ],
}
#: Extra phrasings used only for the post-launch EU support tickets (no English keyword fires on them).
FOREIGN: dict[str, list[str]] = {
    "support/refund": [
        "Hallo, ich habe mein Abo gekündigt, wurde aber trotzdem belastet. Bitte erstatten Sie {amount}.",
        "Bonjour, je souhaite être remboursé pour la commande {order}, l'appareil Fleet ne fonctionne pas.",
    ],
    "support/dispute": [
        "Wir wurden für Bestellung {order} zweimal belastet, bitte korrigieren.",
        "Bonjour, un prélèvement de {amount} du {date} ne correspond à aucune commande.",
    ],
    "support/troubleshoot-fleet": [
        "Unser Fleet-Gateway zeigt nach der Einrichtung den Fehler {fleet_error}.",
        "Le boîtier Fleet n'apparaît pas sur la carte depuis la mise à jour.",
    ],
}
#: How planted PII is worded by the person it belongs to, per PII kind.
PII_PHRASES = {
    "email": ["Contact me at {email}.", "Please reply to {email} instead.", "My login is {email}."],
    "phone": ["Call me on {phone}.", "You can reach me at {phone}.", "Best number: {phone}."],
    "card": ["The card used was {card}.", "It was charged to card {card}.", "Card number {card}."],
    "iban": ["Please refund to IBAN {iban}.", "Our account: {iban}.", "Bank details: {iban}."],
    "secret": ["My config:\n{secret}\n", "Env for reference:\n{secret}\n", "# local settings\n{secret}\n"],
}
#: The same, written by an agent, a salesperson or an engineer about someone else.
PII_PHRASES_ABOUT = {
    "email": ["Contact: {email}.", "Customer email: {email}.", "Reach them at {email}."],
    "phone": ["Direct line: {phone}.", "Callback number: {phone}.", "Mobile: {phone}."],
    "card": ["Card on file: {card}."],
    "iban": ["Remittance account: {iban}.", "Payment to IBAN {iban}."],
    "secret": PII_PHRASES["secret"],
}
#: Segments whose text is written by staff, not by the customer.
STAFF_WRITTEN = ("support/escalation", "support/triage", "coding/", "research/", "sales/")
GREETINGS = ["", "", "Hi,\n", "Hello team,\n", "Hi there.\n", "Good morning,\n"]
SIGNOFFS = ["", "", " Thanks.", " Thank you!", " Regards, {first}.", " Cheers"]

_FORMATTER = string.Formatter()
_FIELDS: dict[str, tuple[str, ...]] = {}


def _fields(template: str) -> tuple[str, ...]:
    """The slots of a template in order of first appearance (a fixed order keeps the draws reproducible)."""
    got = _FIELDS.get(template)
    if got is None:
        got = tuple(dict.fromkeys(f for _, f, _, _ in _FORMATTER.parse(template) if f))
        _FIELDS[template] = got
    return got


#: Slots filled by picking one entry of a pool.
_SIMPLE_SLOTS: dict[str, list[str]] = {
    "plan": PLANS,
    "product": PRODUCTS,
    "fleet": FLEET_PRODUCTS,
    "action": ACTIONS,
    "error": ERRORS,
    "fleet_error": FLEET_ERRORS,
    "integration": INTEGRATIONS,
    "idp": IDPS,
    "country": COUNTRIES,
    "month": MONTHS,
    "vehicle": VEHICLES,
    "topic": TOPICS_RES,
    "segment_res": SEGMENTS_RES,
    "doc_kind": DOC_KINDS,
    "currency": CURRENCIES[:2],
    "currency2": CURRENCIES[2:],
}


class _Slots:
    """Lazily fills the slots a template uses, from the pools, with one Generator."""

    def __init__(self, rng: np.random.Generator, lang: str, company: int) -> None:
        self.rng = rng
        self.lang = lang
        self.company = company

    def pick(self, seq: list[str]) -> str:
        return seq[int(self.rng.integers(len(seq)))]

    def value(self, name: str) -> str:
        r = self.rng
        if name in _SIMPLE_SLOTS:
            return self.pick(_SIMPLE_SLOTS[name])
        if name in ("order", "inc"):
            return str(int(r.integers(10_000, 99_999)))
        if name in ("invoice", "invoice2"):
            return f"INV-2026-{int(r.integers(10_000, 99_999))}"
        if name == "ticket":
            return f"T-{int(r.integers(100_000, 999_999))}"
        if name == "amount":
            return f"{self.pick(['$', '€', '£'])}{int(r.integers(19, 2400))}.{self.pick(['00', '50', '99'])}"
        if name == "date":
            return f"{int(r.integers(1, 29))} {self.pick(MONTHS[6:])}"
        if name == "time":
            return f"{int(r.integers(0, 24)):02d}:{int(r.integers(0, 60)):02d}"
        if name == "lang":
            return {"python": "Python", "typescript": "TypeScript", "go": "Go", "java": "Java"}[self.lang]
        if name == "code":
            return self.pick(CODE[self.lang])
        if name == "trace":
            return self.pick(TRACES[self.lang])
        if name == "java_trace":
            return self.pick(TRACES["java"])
        if name == "diff":
            lines = self.pick(CODE[self.lang]).splitlines()
            return "".join(("+" if i % 3 else "-") + ln + "\n" for i, ln in enumerate(lines))
        if name in ("person", "person2", "first"):
            return self.pick(FIRST) + ("" if name == "first" else " " + self.pick(LAST))
        if name == "company":
            return COMPANIES[self.company][0]
        if name == "service":
            return self.pick(["dispatch", "telematics", "billing-export", "driver-sync"])
        if name == "http_error":
            return self.pick(["502 Bad Gateway", "503 Service Unavailable", "504 Gateway Timeout"])
        if name == "budget":
            return f"${int(r.integers(40, 900))}k"
        if name == "migration":
            return self.pick(MIGRATIONS[self.lang])
        if name == "pct":
            return str(int(r.integers(5, 30)))
        if name == "seats":
            return str(int(r.integers(2, 60)) * 5)
        if name == "doc":
            return "\n\n".join(self.pick(DOC_PARAS) for _ in range(3))
        if name == "transcript":
            a, b = self.pick(FIRST), self.pick(FIRST)
            start = int(r.integers(0, 3))
            return "\n" + "\n".join(ln.format(a=a, b=b) for ln in TRANSCRIPT[start : start + 5])
        raise DatasetError(f"demo template slot {{{name}}} has no filler; add one to _Slots.value")

    def fill(self, template: str) -> str:
        return template.format(**{f: self.value(f) for f in _fields(template)})

    def pii(self, kind: str, staff: bool) -> str:
        """A sentence carrying one planted PII value of `kind` (worded by staff or by the customer)."""
        r = self.rng
        name, domain = self.pick(FIRST), COMPANIES[self.company][1]
        values = {
            "email": lambda: f"{name.lower()}.{self.pick(LAST).lower()}@{domain}",
            "phone": lambda: phone(r),
            "card": lambda: luhn_card(r),
            "iban": lambda: iban(r, self.pick(list(_IBAN_BBAN))),
            "secret": lambda: secret(r),
        }
        phrase = self.pick((PII_PHRASES_ABOUT if staff else PII_PHRASES)[kind])
        return phrase.format(**{kind: values[kind]()})


@dataclass(frozen=True)
class Rendered:
    """One rendered prompt."""

    prompt: str
    """The stored text (cut to `MAX_PROMPT_CHARS` when the full prompt is longer)."""
    full_chars: int
    """Characters of the full prompt, attached material included."""
    truncated: bool
    """Whether `prompt` is an excerpt."""


def render(
    segment: str,
    rng: np.random.Generator,
    *,
    lang: str = "python",
    company: int = 0,
    foreign: bool = False,
    pii: str = "",
    full_chars: int = 0,
) -> Rendered:
    """Render one prompt of a segment (e.g. `support/refund`).

    Args:
        segment: Template key in `TEMPLATES`.
        rng: The Generator every choice is drawn from.
        lang: Programming language of code slots.
        company: Index into `COMPANIES` for company names and email domains.
        foreign: Use a German or French phrasing where the segment has one.
        pii: Plant one PII value of this kind (`email`, `phone`, `card`, `iban`, `secret`), or none.
        full_chars: Size of the full prompt with its attachments; longer text than the template is padded
            with segment material, and anything beyond `MAX_PROMPT_CHARS` is cut (marked `truncated`).
    """
    slots = _Slots(rng, lang, company)
    pool = FOREIGN[segment] if foreign and segment in FOREIGN else TEMPLATES[segment]
    text = slots.fill(slots.pick(pool))
    staff = segment.startswith(STAFF_WRITTEN)
    if not staff and not foreign:
        text = slots.pick(GREETINGS) + text + slots.fill(slots.pick(SIGNOFFS))
    if pii:
        sentence = slots.pii(pii, staff)
        text = f"{sentence}\n{text}" if pii == "secret" else f"{text} {sentence}"
    target = max(full_chars, len(text))
    if target > len(text) + 40:
        pad = _padding(segment, slots, min(target, MAX_PROMPT_CHARS + 200) - len(text))
        text = text + "\n" + pad
    if target > MAX_PROMPT_CHARS:
        marker = f"\n[... excerpt; full prompt {target} characters]"
        return Rendered(text[: MAX_PROMPT_CHARS - len(marker)].rstrip() + marker, target, True)
    return Rendered(text, len(text), False)


def _padding(segment: str, slots: _Slots, n: int) -> str:
    """About `n` characters of material that fits the segment (code, document text, transcript, history)."""
    workflow = segment.split("/", maxsplit=1)[0]
    parts: list[str] = []
    size = 0
    code = CODE[slots.lang]
    order = slots.rng.permutation(len(code))  # cycle through the pool so neighbours differ
    while size < n:
        if workflow == "coding":
            piece = code[order[len(parts) % len(code)]]
        elif workflow == "research":
            piece = slots.pick(DOC_PARAS)
        elif workflow == "sales":
            a, b = slots.pick(FIRST), slots.pick(FIRST)
            piece = (
                slots.pick(TRANSCRIPT).format(a=a, b=b)
                if segment != "sales/proposal"
                else slots.pick(DOC_PARAS)
            )
        else:
            piece = "Agent note: " + slots.pick(HISTORY)
        parts.append(piece)
        size += len(piece) + 1
    return "\n".join(parts)[:n]
