#!/usr/bin/env bash
# The quickstart (docs/quickstart.md), run end to end: every `sh` block of the guide, verbatim and
# in order (cmd/vhupay/quickstart_test.go checks that and runs this script against a fresh
# server), each followed by checks of what it must give. Run it where ./vhupay serves (the guide's
# step 0), with the server's address if it is not the default:
#
#   API=http://127.0.0.1:8080 bash docs/quickstart.sh
#
# It needs bash, curl and jq, and a database where its test SIREN and SIRET are not taken yet.
set -euo pipefail

# expect LABEL GOT WANT stops the script when a step did not give what the guide says it gives.
expect() {
  if [ "$2" != "$3" ]; then
    echo "quickstart: $1 is '$2', want '$3'" >&2
    exit 1
  fi
  echo "ok: $1 is $3"
}

# --- block 1 of docs/quickstart.md
API=${API:-http://127.0.0.1:8080}
ADMIN=$(./vhupay token --role admin)
expect "the admin token" "$(cut -c1-3 <<<"$ADMIN")" "eyJ"

# --- block 2 of docs/quickstart.md
BUYER=$(curl -sS --fail-with-body -X POST "$API/v1/buyers" \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"name": "Garage Martin SARL", "siren": "823456785", "email": "compta@garage-martin.example",
       "address": {"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"}}' | jq -r .id)
CENTER=$(curl -sS --fail-with-body -X POST "$API/v1/centers" \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"name": "Centre VHU du Rhône", "siret": "82345678500018", "email": "contact@cvhu-rhone.example",
       "address": {"line1": "2 route des Casses", "postal_code": "69100", "city": "Villeurbanne", "country": "FR"}}' | jq -r .id)
echo "buyer $BUYER, centre $CENTER"
expect "the buyer's id" "${BUYER%%_*}" byr
expect "the centre's id" "${CENTER%%_*}" ctr

# --- block 3 of docs/quickstart.md
BUYER_TOKEN=$(./vhupay token --role buyer --org "$BUYER")
CENTER_TOKEN=$(./vhupay token --role center --org "$CENTER")

# --- block 4 of docs/quickstart.md
ORDER=$(curl -sS --fail-with-body -X POST "$API/v1/orders" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"center_id": "'"$CENTER"'", "delivery_mode": "delivery",
       "lines": [{"reference": "PHARE-AV-G-208", "label": "Phare avant gauche Peugeot 208", "quantity": 1, "unit_price_excl_vat": 12000}]}')
echo "$ORDER" | jq '{id, status, total_excl_vat, total_vat, total}'
ORDER_ID=$(echo "$ORDER" | jq -r .id)
expect "the new order's status" "$(echo "$ORDER" | jq -r .status)" payment_pending
expect "the new order's total" "$(echo "$ORDER" | jq -r .total)" 14400

# --- block 5 of docs/quickstart.md
REG=$(curl -sS --fail-with-body -X POST "$API/v1/card-registrations" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' -d '{}')
TOKENISED=$(curl -sS --fail-with-body -X POST "$(echo "$REG" | jq -r .card_registration_url)" \
  --data-urlencode "data=$(echo "$REG" | jq -r .preregistration_data)" \
  --data-urlencode "accessKeyRef=$(echo "$REG" | jq -r .access_key)" \
  -d cardNumber=4970105181818183 -d cardExpirationDate=1230 -d cardCvx=123)
echo "$TOKENISED"
CARD=$(curl -sS --fail-with-body -X PUT "$API/v1/card-registrations/$(echo "$REG" | jq -r .id)" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg d "$TOKENISED" '{registration_data: $d}')" | jq -r .card_id)
expect "the tokenisation's answer" "${TOKENISED%%=*}" data
expect "the card's id" "${CARD%%_*}" card

# --- block 6 of docs/quickstart.md
INTENT=$(curl -sS --fail-with-body -X POST "$API/v1/payment-intents" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: pay-$ORDER_ID-1" \
  -d '{"order_id": "'"$ORDER_ID"'", "method": "card", "card_id": "'"$CARD"'",
       "return_url": "http://localhost:5173/paiement/retour"}')
echo "$INTENT" | jq '{id, status, next_action}'
INTENT_ID=$(echo "$INTENT" | jq -r .id)
expect "the card intent's status" "$(echo "$INTENT" | jq -r .status)" requires_action

# --- block 7 of docs/quickstart.md
curl -sS -o /dev/null -w '%{http_code} → %{redirect_url}\n' -X POST \
  "$(echo "$INTENT" | jq -r .next_action.redirect_to_url.url)" -d code=123456
curl -sS --fail-with-body "$API/v1/payment-intents/$INTENT_ID" -H "Authorization: Bearer $BUYER_TOKEN" | jq '{status, last_error}'
curl -sS --fail-with-body "$API/v1/orders/$ORDER_ID" -H "Authorization: Bearer $BUYER_TOKEN" | jq '{status, payment}'
expect "the card intent's status after 3-D Secure" \
  "$(curl -sS --fail-with-body "$API/v1/payment-intents/$INTENT_ID" -H "Authorization: Bearer $BUYER_TOKEN" | jq -r .status)" succeeded
expect "the order's status after the card payment" \
  "$(curl -sS --fail-with-body "$API/v1/orders/$ORDER_ID" -H "Authorization: Bearer $BUYER_TOKEN" | jq -r .status)" confirmed

# --- block 8 of docs/quickstart.md
ACCOUNT=$(curl -sS --fail-with-body -X POST "$API/v1/bank-accounts" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"owner_name": "Garage Martin SARL", "iban": "FR7630006000011234567890189",
       "owner_address": {"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"}}' | jq -r .id)
MANDATE=$(curl -sS --fail-with-body -X POST "$API/v1/bank-accounts/$ACCOUNT/mandates" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"return_url": "http://localhost:5173/sepa/mandat"}')
echo "$MANDATE" | jq '{id, status, signature_url}'
expect "the mandate's status" "$(echo "$MANDATE" | jq -r .status)" pending_signature

# --- block 9 of docs/quickstart.md
curl -sS -o /dev/null -w '%{http_code} → %{redirect_url}\n' -X POST "$(echo "$MANDATE" | jq -r .signature_url)" -d action=sign
curl -sS --fail-with-body "$API/v1/sepa" -H "Authorization: Bearer $BUYER_TOKEN" | jq '{enabled, reasons, ceiling, outstanding, available, score}'
SEPA_PROFILE=$(curl -sS --fail-with-body "$API/v1/sepa" -H "Authorization: Bearer $BUYER_TOKEN")
expect "SEPA enabled after the signature" "$(echo "$SEPA_PROFILE" | jq -r .enabled)" true
expect "the SEPA available balance" "$(echo "$SEPA_PROFILE" | jq -r .available)" 25000

# --- block 10 of docs/quickstart.md
SEPA_ORDER=$(curl -sS --fail-with-body -X POST "$API/v1/orders" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"center_id": "'"$CENTER"'", "delivery_mode": "pickup",
       "lines": [{"reference": "RETRO-D-CLIO4", "label": "Rétroviseur droit Renault Clio IV", "quantity": 2, "unit_price_excl_vat": 4500}]}' | jq -r .id)
SEPA_INTENT=$(curl -sS --fail-with-body -X POST "$API/v1/payment-intents" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"order_id": "'"$SEPA_ORDER"'", "method": "sepa_debit"}')
echo "$SEPA_INTENT" | jq '{id, status, amount, mandate_id, collection_month}'
MONTH=$(echo "$SEPA_INTENT" | jq -r .collection_month)
curl -sS --fail-with-body "$API/v1/sepa" -H "Authorization: Bearer $BUYER_TOKEN" | jq '{ceiling, outstanding, available}'
expect "the SEPA intent's status" "$(echo "$SEPA_INTENT" | jq -r .status)" scheduled
expect "the SEPA outstanding" "$(curl -sS --fail-with-body "$API/v1/sepa" -H "Authorization: Bearer $BUYER_TOKEN" | jq -r .outstanding)" 10800

# --- block 11 of docs/quickstart.md
INVOICING=$(curl -sS --fail-with-body -X POST "$API/v1/invoicing-accounts" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"center_id": "'"$CENTER"'"}' | jq -r .id)
curl -sS --fail-with-body -X POST "$API/v1/invoicing-accounts/$INVOICING/approve" \
  -H "Authorization: Bearer $CENTER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"note": "Client connu"}' | jq '{id, status}'
expect "the invoicing account's status" \
  "$(curl -sS --fail-with-body "$API/v1/invoicing-accounts/$INVOICING" -H "Authorization: Bearer $BUYER_TOKEN" | jq -r .status)" approved

# --- block 12 of docs/quickstart.md
INVOICE_ORDER=$(curl -sS --fail-with-body -X POST "$API/v1/orders" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"center_id": "'"$CENTER"'", "delivery_mode": "delivery",
       "lines": [{"reference": "BOITE-208", "label": "Boîte de vitesses Peugeot 208", "quantity": 1, "unit_price_excl_vat": 65000}]}' | jq -r .id)
curl -sS --fail-with-body -X POST "$API/v1/payment-intents" \
  -H "Authorization: Bearer $BUYER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"order_id": "'"$INVOICE_ORDER"'", "method": "vhu_invoice"}' | jq '{id, status, invoicing_account_id}'
curl -sS --fail-with-body -X POST "$API/v1/orders/$INVOICE_ORDER/delivery-notes" \
  -H "Authorization: Bearer $CENTER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"kind": "BL", "number": "BL-2026-0001"}' | jq .
curl -sS --fail-with-body "$API/v1/statements?month=$MONTH" -H "Authorization: Bearer $CENTER_TOKEN" | jq '.data[] | {id, status, total}'
expect "the open statement's total" \
  "$(curl -sS --fail-with-body "$API/v1/statements?month=$MONTH" -H "Authorization: Bearer $CENTER_TOKEN" | jq -r '.data[0].status + " " + (.data[0].total | tostring)')" "open 78000"

# --- block 13 of docs/quickstart.md
NEXT_MONTH=$(jq -rn --arg m "$MONTH" '$m | split("-") | map(tonumber) | (.[0] * 12 + .[1]) as $n
  | "\($n / 12 | floor)-\($n % 12 + 1 | tostring | if length < 2 then "0" + . else . end)-01T12:00:00Z"')
curl -sS --fail-with-body -X PUT "$API/v1/sandbox/clock" \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"now": "'"$NEXT_MONTH"'"}' | jq -c .
curl -sS --fail-with-body -X POST "$API/v1/admin/month-closes" \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"month": "'"$MONTH"'"}' | jq '{month, status}'
until [ "$(curl -sS --fail-with-body "$API/v1/admin/month-closes/$MONTH" -H "Authorization: Bearer $ADMIN" | jq -r .status)" != running ]; do sleep 1; done
curl -sS --fail-with-body "$API/v1/admin/month-closes/$MONTH" -H "Authorization: Bearer $ADMIN" | jq .
CLOSE=$(curl -sS --fail-with-body "$API/v1/admin/month-closes/$MONTH" -H "Authorization: Bearer $ADMIN")
expect "the month close" "$(echo "$CLOSE" | jq -r '[.status, .collections, .statements] | map(tostring) | join(" ")')" "completed 1 1"

# --- block 14 of docs/quickstart.md
SETTLE_AT=$(echo "$NEXT_MONTH" | sed 's/-01T12/-04T12/')
curl -sS --fail-with-body -X PUT "$API/v1/sandbox/clock" \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"now": "'"$SETTLE_AT"'", "settle": true}' | jq -c .
curl -sS --fail-with-body "$API/v1/sepa/collections" -H "Authorization: Bearer $BUYER_TOKEN" | jq '.data[] | {id, month, amount, status}'
curl -sS --fail-with-body "$API/v1/payment-intents/$(echo "$SEPA_INTENT" | jq -r .id)" -H "Authorization: Bearer $BUYER_TOKEN" | jq '{status}'
expect "the collection's status" \
  "$(curl -sS --fail-with-body "$API/v1/sepa/collections" -H "Authorization: Bearer $BUYER_TOKEN" | jq -r '.data[0].status')" succeeded
expect "the SEPA intent's status after the collection" \
  "$(curl -sS --fail-with-body "$API/v1/payment-intents/$(echo "$SEPA_INTENT" | jq -r .id)" -H "Authorization: Bearer $BUYER_TOKEN" | jq -r .status)" succeeded

# --- block 15 of docs/quickstart.md
STATEMENT=$(curl -sS --fail-with-body "$API/v1/statements?month=$MONTH" -H "Authorization: Bearer $CENTER_TOKEN" | jq -r '.data[0].id')
curl -sS --fail-with-body -X POST "$API/v1/statements/$STATEMENT/mark-paid" -H "Authorization: Bearer $CENTER_TOKEN" | jq '{status, total, paid_at}'
curl -sS --fail-with-body "$API/v1/statements/$STATEMENT/export.csv" -H "Authorization: Bearer $CENTER_TOKEN"
expect "the statement's status" \
  "$(curl -sS --fail-with-body "$API/v1/statements/$STATEMENT" -H "Authorization: Bearer $BUYER_TOKEN" | jq -r .status)" paid

echo "quickstart: every step gave what the guide says"
