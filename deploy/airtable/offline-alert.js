// PaperPlan Sync: "Sync application offline" posted from inside Airtable, so it needs no machine of ours.
// Install: deploy/airtable/README.md. Automation: trigger "At a scheduled time" (every hour), action
// "Run a script" with this code. It reads its own base, which uses no Web API calls (the monthly quota).
//
// Posts with Slack's chat.postMessage and the product's own bot token (secret "slackBotToken", scope
// chat:write), so the alert comes from the same bot into the same channel as the product's other alerts.
// Once per outage: after posting it sets Overview "Alive" to 0; the product's next heartbeat sets it back
// to 1, which re-arms the alert. (The off-site `paperplan-sync watchdog` also sets Alive to 0.)
const MAX_AGE_MINUTES = 45;  // the heartbeat is written every 30 minutes
const HEARTBEAT_NAME = 'Sync application';

const config = input.config();
const channel = config.channel || '#airtable';
const slackApiUrl = config.slackApiUrl || 'https://slack.com/api/';

const overview = base.getTable('Overview');
const query = await overview.selectRecordsAsync({fields: ['Name', 'Alive', 'Timestamp']});
const record = query.records.find((r) => r.getCellValueAsString('Name') === HEARTBEAT_NAME);
if (!record) {
    throw new Error(`Overview has no "${HEARTBEAT_NAME}" record: run \`paperplan-sync init-airtable\` once.`);
}
const stamp = record.getCellValue('Timestamp');
const ageMinutes = stamp ? (Date.now() - new Date(stamp).getTime()) / 60000 : Infinity;
const alreadyAlerted = record.getCellValue('Alive') === 0;

if (ageMinutes > MAX_AGE_MINUTES && !alreadyAlerted) {
    const last = stamp ? `${Math.round(ageMinutes)} minutes ago (${stamp})` : 'none on record';
    const response = await fetch(`${slackApiUrl}chat.postMessage`, {
        method: 'POST',
        headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'Authorization': `Bearer ${input.secret('slackBotToken')}`,
        },
        body: JSON.stringify({channel, text: `Sync application offline: last heartbeat ${last}`}),
    });
    const answer = await response.json();
    if (!answer.ok) {
        // A failed run shows in the automation's run history and Airtable notifies its owner.
        throw new Error(`Slack refused the offline alert: ${answer.error} (check the slackBotToken secret and the channel)`);
    }
    await overview.updateRecordAsync(record, {Alive: 0});
    output.set('posted', true);
} else {
    output.set('posted', false);
}
