// Runs an Airtable automation script under node with the parts of Airtable's scripting API it uses
// (base.getTable, selectRecordsAsync, updateRecordAsync, input, output), backed by a real Airtable-compatible
// Web API (the local stand-in). Usage: node airtable_script_host.js SCRIPT; settings in AT_* environment.
const fs = require('fs');
const {AT_URL, AT_BASE, AT_KEY, AT_CONFIG, AT_SECRETS} = process.env;
const headers = {'Authorization': `Bearer ${AT_KEY}`, 'Content-Type': 'application/json'};

async function call(method, table, rest, body) {
    const response = await fetch(`${AT_URL}/v0/${AT_BASE}/${encodeURIComponent(table)}${rest}`,
        {method, headers, body: body && JSON.stringify(body)});
    const data = await response.json();
    if (!response.ok) throw new Error(`Airtable ${response.status}: ${JSON.stringify(data)}`);
    return data;
}

function wrap(raw) {
    return {id: raw.id, getCellValue: (f) => raw.fields[f] ?? null, getCellValueAsString: (f) => String(raw.fields[f] ?? '')};
}

const base = {
    getTable: (name) => ({
        selectRecordsAsync: async ({fields}) => {
            const params = fields.map((f) => `fields[]=${encodeURIComponent(f)}`).join('&');
            const data = await call('GET', name, '?' + params);
            return {records: data.records.map(wrap)};
        },
        updateRecordAsync: async (record, fields) => { await call('PATCH', name, '/' + record.id, {fields}); },
    }),
};
const outputs = {};
const input = {config: () => JSON.parse(AT_CONFIG || '{}'), secret: (k) => JSON.parse(AT_SECRETS || '{}')[k]};
const output = {set: (k, v) => { outputs[k] = v; }};

const source = fs.readFileSync(process.argv[2], 'utf8');
new Function('base', 'input', 'output', `return (async () => {\n${source}\n})();`)(base, input, output)
    .then(() => { console.log(JSON.stringify(outputs)); })
    .catch((e) => { console.error(e.message); process.exit(1); });
