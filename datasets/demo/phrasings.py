"""Prompt templates per segment, foreign-language variants, PII sentences, greetings and sign-offs.

The phrasings are written so that the keyword and regex signals of the acme routers fire the way a real
gateway's would, misses included: some refund tickets never say "refund", some German and French tickets
match no English keyword, and "activation" contains the billing keyword "vat".
"""

from __future__ import annotations

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
