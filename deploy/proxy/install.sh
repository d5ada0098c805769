#!/bin/sh
# Put nginx with a login in front of PaperPlan Sync on this machine (Debian; run as root).
#   deploy/proxy/install.sh sync.example.com ops-user
# Installs Debian's nginx, the site file, a self-signed certificate when none is there yet (replace it:
# README "Real certificates") and a login for ops-user (asks for the password). Run again to add users.
set -eu
host=${1:?usage: install.sh HOSTNAME USER}
user=${2:?usage: install.sh HOSTNAME USER}
here=$(dirname "$0")

command -v nginx >/dev/null || { apt-get update -q && apt-get install -y -q nginx; }
install -d -m 755 /etc/paperplan/tls
if [ ! -s /etc/paperplan/tls/fullchain.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
        -keyout /etc/paperplan/tls/privkey.pem -out /etc/paperplan/tls/fullchain.pem
    chmod 600 /etc/paperplan/tls/privkey.pem
fi

# SHA-512 crypt ($6$): nginx checks it through the system's crypt(); no extra package needed.
printf 'Password for %s: ' "$user" >&2
stty -echo 2>/dev/null || true; read -r password; stty echo 2>/dev/null || true; echo >&2
hash=$(printf '%s' "$password" | openssl passwd -6 -stdin)
touch /etc/paperplan/htpasswd
grep -v "^$user:" /etc/paperplan/htpasswd > /etc/paperplan/htpasswd.new || true
echo "$user:$hash" >> /etc/paperplan/htpasswd.new
mv /etc/paperplan/htpasswd.new /etc/paperplan/htpasswd
chown root:www-data /etc/paperplan/htpasswd && chmod 640 /etc/paperplan/htpasswd

sed "s/sync\.example\.com/$host/g" "$here/paperplan-sync.conf" > /etc/nginx/sites-available/paperplan-sync
ln -sf /etc/nginx/sites-available/paperplan-sync /etc/nginx/sites-enabled/paperplan-sync
rm -f /etc/nginx/sites-enabled/default  # it also listens on :80
nginx -t
systemctl reload nginx 2>/dev/null || systemctl restart nginx
echo "https://$host/ asks for a login; https://$host/api answers without one."
