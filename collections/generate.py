"""Writes the Postman collections in this folder (edit here, then run it).

One collection per dialect walks the README's flow; scripts/api-collections
runs them with newman against a fresh payhub.
"""
import json
import pathlib
import uuid

def req(name, method, path, body=None, tests="", pre="", headers=None, auth="bearer", raw_url=None, form=None):
    h = [{"key": "Content-Type", "value": "application/json"}] if body is not None else []
    if form is not None:
        h = [{"key": "Content-Type", "value": "application/x-www-form-urlencoded"}]
    for k, v in (headers or {}).items():
        h.append({"key": k, "value": v})
    r = {"method": method, "header": h, "url": raw_url or ("{{base}}" + path)}
    if body is not None:
        r["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2) if not isinstance(body, str) else body}
    if form is not None:
        r["body"] = {"mode": "urlencoded", "urlencoded": [{"key": k, "value": v} for k, v in form]}
    if auth == "bearer":
        r["auth"] = {"type": "bearer", "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}]}
    elif auth == "basic":
        r["auth"] = {"type": "basic", "basic": [{"key": "username", "value": "{{merchantId}}", "type": "string"},
                                                {"key": "password", "value": "{{apiKey}}", "type": "string"}]}
    else:
        r["auth"] = {"type": "noauth"}
    events = []
    if pre:
        events.append({"listen": "prerequest", "script": {"type": "text/javascript", "exec": pre.strip().split("\n")}})
    if tests:
        events.append({"listen": "test", "script": {"type": "text/javascript", "exec": tests.strip().split("\n")}})
    return {"name": name, "event": events, "request": r}

def collection(name, description, items, pre=""):
    c = {"info": {"_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "payhub/" + name)), "name": name,
                  "description": description,
                  "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
         "item": items}
    if pre:
        c["event"] = [{"listen": "prerequest", "script": {"type": "text/javascript", "exec": pre.strip().split("\n")}}]
    return c

TMF = "/tmf-api/paymentManagement/v4"
tmf = collection("payhub TMF676", "The README's TMF676 walk-through: record, replay, read, filter, refund (and an over-refund refused), hub listeners, authentication. Variables: base, apiKey.", [
    req("Record a payment", "POST", TMF + "/payment",
        {"account": {"id": "{{accountId}}"}, "paymentMethod": {"@type": "BankCard"},
         "totalAmount": {"unit": "USD", "value": 50}, "correlatorId": "{{orderId}}"},
        headers={"Idempotency-Key": "{{orderId}}"},
        pre="""
pm.collectionVariables.set('orderId', 'order-' + Date.now());
pm.collectionVariables.set('accountId', 'acct-' + Date.now());
""",
        tests="""
pm.test('201 with Location', () => { pm.response.to.have.status(201); pm.expect(pm.response.headers.get('Location')).to.include('/payment/'); });
const p = pm.response.json();
pm.test('captured, 50 USD', () => { pm.expect(p.status).to.eql('captured'); pm.expect(p.totalAmount).to.eql({unit: 'USD', value: 50}); });
pm.collectionVariables.set('paymentId', p.id);
"""),
    req("Replay it under the same Idempotency-Key", "POST", TMF + "/payment",
        {"account": {"id": "{{accountId}}"}, "paymentMethod": {"@type": "BankCard"},
         "totalAmount": {"unit": "USD", "value": 50}, "correlatorId": "{{orderId}}"},
        headers={"Idempotency-Key": "{{orderId}}"},
        tests="""
pm.test('the same payment, nothing new', () => { pm.response.to.have.status(201); pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('paymentId')); });
"""),
    req("Read it back", "GET", TMF + "/payment/{{paymentId}}",
        tests="""
pm.test('200 and the same payment', () => { pm.response.to.have.status(200); pm.expect(pm.response.json().correlatorId).to.eql(pm.collectionVariables.get('orderId')); });
"""),
    req("Filter by account", "GET", TMF + "/payment?account.id={{accountId}}&limit=20",
        tests="""
pm.test('one payment, counted', () => { pm.response.to.have.status(200); pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('1'); pm.expect(pm.response.json()).to.have.length(1); });
"""),
    req("Refund 20 of it", "POST", TMF + "/refund",
        {"account": {"id": "{{accountId}}"}, "paymentMethod": {}, "payment": {"id": "{{paymentId}}"},
         "totalAmount": {"unit": "USD", "value": 20}},
        tests="""
pm.test('201 done', () => { pm.response.to.have.status(201); pm.expect(pm.response.json().status).to.eql('done'); });
"""),
    req("Refund 40 more is refused", "POST", TMF + "/refund",
        {"account": {"id": "{{accountId}}"}, "paymentMethod": {}, "payment": {"id": "{{paymentId}}"},
         "totalAmount": {"unit": "USD", "value": 40}},
        tests="""
pm.test('a TMF error, not a refund', () => { pm.expect(pm.response.code).to.be.within(400, 499); pm.expect(pm.response.json()).to.have.property('code'); });
"""),
    req("Subscribe a listener", "POST", TMF + "/hub",
        {"callback": "http://127.0.0.1:9/listener", "query": "eventType=PaymentCreateEvent"},
        tests="""
pm.test('201 with an id', () => { pm.response.to.have.status(201); pm.expect(pm.response.json().id).to.be.a('string'); });
pm.collectionVariables.set('hubId', pm.response.json().id);
"""),
    req("Remove it", "DELETE", TMF + "/hub/{{hubId}}",
        tests="""
pm.test('204', () => pm.response.to.have.status(204));
"""),
    req("Without a key: 401", "GET", TMF + "/payment", auth="none",
        tests="""
pm.test('401 in the TMF Error envelope', () => { pm.response.to.have.status(401); pm.expect(pm.response.json()).to.have.property('code'); });
"""),
])

RETAIL_SIGN = """
// Every retail request carries apiKey, timestamp (ms) and sign = Base64(HMAC-SHA1(secret, timestamp)).
const cryptoJs = require('crypto-js');
if (pm.request.body && pm.request.body.raw && pm.request.url.getPath().includes('/tt-pms-ws/')) {
  const body = JSON.parse(pm.variables.replaceIn(pm.request.body.raw));
  const ts = Date.now() + Math.floor(Math.random() * 1000);
  body.apiKey = pm.variables.get('retailApiKey');
  body.timestamp = ts;
  if (!body.sign) body.sign = cryptoJs.HmacSHA1(String(ts), pm.variables.get('retailSecret')).toString(cryptoJs.enc.Base64);
  pm.request.body.update(JSON.stringify(body));
}
"""
API = "/tt-pms-ws/rest/online"
retail = collection("payhub retail online payment", "The README's retail walk-through: gateways, a WXPAY sale, the sandbox settles it, query until paid, a partial refund seen through TMF676, and a bad signature. Variables: base, apiKey, retailApiKey, retailSecret.", [
    req("Gateways", "POST", API + "/gateway", {"lang": "en"}, auth="none",
        tests="""
pm.test('errorCode 0 and WXPAY listed', () => { const a = pm.response.json(); pm.expect(a.errorCode).to.eql('0'); pm.expect(JSON.stringify(a)).to.include('WXPAY'); });
"""),
    req("A sale of HK$10.00", "POST", API + "/sales",
        {"type": "WXPAY", "rrn": "{{rrn}}", "storeCode": "ST01", "tillId": "01", "salesman": "9999",
         "txDateTime": "2021-06-09T13:10:33+0800", "amt": 1000, "ccy": "HKD", "lang": "en",
         "extendParam": "{\"subject\":\"Water\",\"seller\":\"Watsons HK\"}",
         "returnUrl": "https://shop.example.com/order-paid/1001"}, auth="none",
        pre="""
pm.collectionVariables.set('rrn', 'ORDER-' + Date.now());
""",
        tests="""
const a = pm.response.json();
pm.test('errorCode 0 with a paymentUrl', () => { pm.expect(a.errorCode).to.eql('0'); pm.expect(a.paymentUrl).to.include('/pay/'); });
"""),
    req("Its TMF676 id", "GET", TMF + "/payment?correlatorId={{rrn}}&fields=id",
        tests="""
const list = pm.response.json();
pm.test('one payment', () => pm.expect(list).to.have.length(1));
pm.collectionVariables.set('paymentId', list[0].id);
"""),
    req("The sandbox settles it as the wallet would", "POST", "/sandbox/v1/payments/{{paymentId}}/outcome", {"outcome": "success"},
        tests="""
pm.test('200', () => pm.response.to.have.status(200));
"""),
    req("Query until paid", "POST", API + "/query", {"type": "WXPAY", "rrn": "{{rrn}}", "storeCode": "ST01", "tillId": "01"}, auth="none",
        tests="""
const a = pm.response.json();
const tries = Number(pm.collectionVariables.get('queryTries') || 0);
if (a.gwRefStatus !== '01' && tries < 40) {
  pm.collectionVariables.set('queryTries', tries + 1);
  const until = Date.now() + 100; while (Date.now() < until) {}
  postman.setNextRequest('Query until paid');
} else {
  pm.test('paid (gwRefStatus 01)', () => { pm.expect(a.errorCode).to.eql('0'); pm.expect(a.gwRefStatus).to.eql('01'); });
}
"""),
    req("Refund HK$4.00 under a new rrn", "POST", API + "/refund",
        {"type": "WXPAY", "rrn": "{{rrn}}-R1", "orgRrn": "{{rrn}}", "storeCode": "ST01", "amt": 400}, auth="none",
        tests="""
pm.test('accepted (0, or 3 while the gateway answers)', () => pm.expect(['0', '3']).to.include(pm.response.json().errorCode));
"""),
    req("The refund through TMF676", "GET", TMF + "/refund?correlatorId={{rrn}}-R1",
        tests="""
const list = pm.response.json();
pm.test('one refund of 4.00 HKD', () => { pm.expect(list).to.have.length(1); pm.expect(list[0].totalAmount).to.eql({unit: 'HKD', value: 4}); });
"""),
    req("A wrong sign is refused", "POST", API + "/query", {"type": "WXPAY", "rrn": "{{rrn}}", "storeCode": "ST01", "sign": "bm90IGEgc2lnbmF0dXJl"}, auth="none",
        tests="""
pm.test('40001', () => pm.expect(pm.response.json().errorCode).to.eql('40001'));
"""),
], pre=RETAIL_SIGN)

PGW = "/pgw"
telco = collection("payhub telco payment service", "The README's telco walk-through on channel 10: the catalogue, a request, the subscriber's consent with the SMS code, reserve, commit, and the TMF676 view. Variables: base, apiKey, merchantId.", [
    req("Catalogue item 50", "PUT", PGW + "/catalogue/50", {"name": "Music pack", "unitPrice": {"unit": "TRY", "value": 19.99}}, auth="basic",
        tests="pm.test('2xx', () => pm.expect(pm.response.code).to.be.within(200, 299));"),
    req("Catalogue item 53", "PUT", PGW + "/catalogue/53", {"name": "Sticker", "unitPrice": {"unit": "TRY", "value": 5.00}}, auth="basic",
        tests="pm.test('2xx', () => pm.expect(pm.response.code).to.be.within(200, 299));"),
    req("Request a reserve & commit payment", "POST", PGW + "/paymentService",
        {"additionalParameters": [], "channelId": 10, "language": "tr", "msisdn": "{{msisdn}}",
         "itemList": [{"count": 1, "id": 50, "isRemovable": True}, {"count": 3, "id": 53, "isRemovable": False}],
         "paymentMethod": "reserve", "isDeliverable": True, "isBillingRequired": False, "transactionId": "{{transactionId}}"},
        auth="basic",
        pre="""
const n = String(Date.now()).slice(-9);
pm.collectionVariables.set('msisdn', '905' + n);
pm.collectionVariables.set('transactionId', 'tx' + n);
""",
        tests="""
pm.test('1103 CONSENT_REQUESTED', () => { const a = pm.response.json(); pm.expect(a.resultCode).to.eql(1103); pm.expect(a.transactionId).to.eql(pm.collectionVariables.get('transactionId')); });
"""),
    req("The SMS the subscriber got", "GET", "/sandbox/v1/sms?msisdn={{msisdn}}",
        tests="""
const sms = pm.response.json();
pm.test('one SMS with a link and a code', () => { pm.expect(sms).to.have.length(1); pm.expect(sms[0].code).to.match(/^[0-9]{6}$/); });
pm.collectionVariables.set('consentLink', sms[0].link);
pm.collectionVariables.set('code', sms[0].code);
"""),
    req("The subscriber approves with the code", "POST", None, auth="none", raw_url="{{consentLink}}",
        form=[("action", "approve"), ("otp", "{{code}}"), ("delivery_address", "Istiklal Cd. 1, Istanbul")],
        tests="""
pm.test('the consent page answers', () => pm.expect(pm.response.code).to.be.within(200, 399));
"""),
    req("Reserved", "GET", PGW + "/paymentService/{{transactionId}}", auth="basic",
        tests="pm.test('1105 RESERVED', () => pm.expect(pm.response.json().resultCode).to.eql(1105));"),
    req("Commit", "POST", PGW + "/paymentService/{{transactionId}}/commit", auth="basic",
        tests="pm.test('1106 COMMITTED', () => pm.expect(pm.response.json().resultCode).to.eql(1106));"),
    req("The TMF676 view", "GET", TMF + "/payment?correlatorId={{transactionId}}&fields=status,totalAmount",
        tests="""
const list = pm.response.json();
pm.test('captured 34.99 TRY', () => { pm.expect(list).to.have.length(1); pm.expect(list[0].status).to.eql('captured'); pm.expect(list[0].totalAmount).to.eql({unit: 'TRY', value: 34.99}); });
"""),
])

APS = "/aps/2/resources/{{apsId}}"
aps = collection("payhub APS PaymentManagement", "The README's APS walk-through: a payment from the account's credit, one that needs the card page, reading them back, and a malformed total. Variables: base, apiKey, apsId (an account with 25.00 USD of credit: payhub aps account-create).", [
    req("Pay 10.10 from credit", "POST", APS + "/payment",
        {"total": 10.10, "useAvailableCredit": True, "documents": [{"docType": "INVOICE", "docId": "INV-7", "amount": 10.10}]},
        headers={"Idempotency-Key": "{{invoiceKey}}"},
        pre="pm.collectionVariables.set('invoiceKey', 'inv-' + Date.now());",
        tests="""
const a = pm.response.json();
pm.test('a paymentId, no redirect', () => { pm.expect(pm.response.code).to.be.within(200, 201); pm.expect(a.paymentId).to.be.a('number'); pm.expect(a).to.not.have.property('redirectData'); });
pm.collectionVariables.set('creditPaymentId', pm.response.text().match(/"paymentId"\\s*:\\s*([0-9]+)/)[1]);
"""),
    req("Pay 30.00: credit, then the card page", "POST", APS + "/payment",
        {"total": 30.00, "useAvailableCredit": True,
         "paymentContext": {"callbackUrlOk": "https://shop.example/paid", "callbackUrlFail": "https://shop.example/failed"}},
        tests="""
const a = pm.response.json();
pm.test('redirectData to the hosted page', () => { pm.expect(a.redirectData.redirectURL).to.include('/pay/'); pm.expect(a.redirectData.method).to.eql('GET'); });
"""),
    req("Read the credit payment back", "GET", APS + "/payments?paymentIds={{creditPaymentId}}",
        tests="""
const list = pm.response.json();
pm.test('SUCCESS, 10.10 USD, from credit', () => { pm.expect(list).to.have.length(1); pm.expect(list[0].status).to.eql('SUCCESS'); pm.expect(list[0].amount).to.eql(10.1); pm.expect(list[0].currency).to.eql('USD'); });
"""),
    req("A total with three decimals is refused", "POST", APS + "/payment", '{"total": 10.001}',
        tests="""
pm.test('400 invalid_field total', () => { pm.response.to.have.status(400); const e = pm.response.json(); pm.expect(e.code).to.eql('invalid_field'); pm.expect(e.field).to.eql('total'); });
"""),
])

for file, c in [("tmf676", tmf), ("retail", retail), ("telco", telco), ("aps", aps)]:
    with open(pathlib.Path(__file__).parent / f"{file}.postman_collection.json", "w") as f:
        json.dump(c, f, indent=2, ensure_ascii=False)
        f.write("\n")
